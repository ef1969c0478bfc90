"""One module per use case, over the domain and the adapters: the handlers in functions/ call
these and nothing deeper. Services raise domain errors, never botocore's."""
