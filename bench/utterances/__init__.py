"""Officers' sentences in four languages, labelled, and the bench that reads them."""
