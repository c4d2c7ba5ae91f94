"""Ward events and council meetings: search in residents' words, cards, iCalendar, reminders."""
