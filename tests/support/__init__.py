"""What tests share: one factory per record (`support.factories`) and one builder per event
(`support.events`)."""
