"""The middle floor: Pykka actors on gevent greenlets. Imports ``storage``, never ``web``."""
