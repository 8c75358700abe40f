"""Vector stores (FAISS, or Milvus for many machines) and the persisted news index built on them."""
