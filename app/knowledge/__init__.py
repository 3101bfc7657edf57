"""The shared Q&A knowledge base (问答库): versioned entries, import/export, suggestions, consistency checks."""
