"""Command functions of the ``techmatch`` CLI, one module per command; ``service.cli`` registers
them."""
