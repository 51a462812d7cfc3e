"""The parts of reading a sentence: tokens, the four languages' vocabulary, dates, persons."""
