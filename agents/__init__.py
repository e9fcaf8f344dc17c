"""Controllers, LLM agents and LLM backends for simran.

``agents`` imports ``simran``; ``simran`` never imports ``agents`` (design §3). Heavy optional
dependencies (``ollama``, ``llama_cpp``) are imported lazily, inside the backends that need them.
"""
