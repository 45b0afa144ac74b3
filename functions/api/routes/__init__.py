"""HTTP routes of the native API, one router per resource. Each route parses its
input, calls one service function and shapes the answer."""
