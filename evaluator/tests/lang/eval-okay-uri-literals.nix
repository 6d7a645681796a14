[ http://example.org/x https://example.org/a?b=c&d=e mailto:someone@example.org ]
