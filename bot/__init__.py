"""The LINE side: webhook, inbox processing, the one gateway to LINE, the simulator, the scheduler."""
