"""The knowledge base: help-centre articles and question-answer pairs, split into sections,
stored in the database and searched (lexical and semantic, fused) for the answer to a
customer's question, with a calibrated confidence that the top hit answers it."""
