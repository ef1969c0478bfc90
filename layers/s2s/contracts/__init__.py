"""The pydantic models of everything that crosses a boundary: API requests and answers, and the
TransferEvent. Built on the domain's types; import nothing of services, adapters or runtime."""
