"""Behaviour analytic plugins: one module per analytic, each an ``Analytic`` registered with
``@register_analytic`` (see ``sekimori.detect.behaviour.analytic``). Every module here is imported when the
analytics are first listed; a new analytic is one new module and its test."""
