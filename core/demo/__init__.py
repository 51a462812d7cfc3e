"""Demo data: realistic Belgian people, a federal catalogue, and a seeded database."""
