"""Project operations: init/clone/open/connect, write, read, history, sync, validate, governance."""
