"""Loading and saving audio, MIDI and scores; every bad input becomes one clear MotetError."""
