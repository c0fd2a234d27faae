"""UBL 2.1 / CIUS-RO: `builder.build(document)` writes a document, `reader.read(xml)` reads one back."""
