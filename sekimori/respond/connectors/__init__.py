"""Connector plugins: one module each, a ``@register``ed :class:`sekimori.respond.actions.Connector`."""
