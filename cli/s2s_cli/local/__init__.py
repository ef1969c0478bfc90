"""The local stack: the whole service on one machine, with AWS emulated by moto."""
