"""Pure analyses: frames + settings (+ now) in, frames out. No I/O, no clock, no globals."""
