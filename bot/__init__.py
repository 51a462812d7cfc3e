"""Chat adapters: they turn platform events into Inbound and render Reply; no business rule."""
