"""UI-free services of triton-console. Nothing under this package may import Textual."""
