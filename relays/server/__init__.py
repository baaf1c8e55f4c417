"""The server's side of the relays: gevent pipes and sockets, and the pid handshake.

Server code only (it imports gevent); workers use the standard-library SDK in
:mod:`relays` instead. Kept free of imports so that importing one relay loads
only what it needs.
"""
