"""The `itma-assistant` command: the composition root, the only place core, bot and
mail_gateway meet."""
