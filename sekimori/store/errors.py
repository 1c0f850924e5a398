"""The store's errors (a module of their own so that the lock and the store can both raise them)."""


class StoreError(Exception):
    """The store cannot be used (not a store, unwritable, …)."""


class StoreBusyError(StoreError):
    """Another process is writing to the store, and this one may not wait (longer) for it."""
