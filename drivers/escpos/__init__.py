"""ESC/POS: the command language of most receipt and kitchen printers."""
