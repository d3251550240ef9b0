"""What the store sees a shopper do: enter, move, exit and focus, in event-code order.

Kept apart from :mod:`customersim.frame` (which needs pandas) so that the light parts of the
package, the command line's ``send`` and the payload contract, can name them without it.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = ("enter", "move", "exit", "focus")
