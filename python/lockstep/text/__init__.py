"""Text: the tokenizer, chat templates, and what a template must know about a tokenizer (hints)."""
