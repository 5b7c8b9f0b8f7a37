"""The pure core: no I/O, no clock, no database. Times and ids are passed in."""
