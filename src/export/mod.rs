//! Export of embeddings.
