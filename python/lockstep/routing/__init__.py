"""Routing: which backends can run an inspected model (route), whether each is ready here
(preflight), and the tables of what each supports. inspect() = describe + route."""
