"""The key that signs customers' choice links: a Secrets Manager secret the stack
generates (``ChoiceKeySecret``), read through powertools Parameters and cached for five
minutes. Rotating it makes the links already sent invalid (they are refused with a page
that says so); nothing else depends on it."""

from __future__ import annotations

MAX_AGE = 300


class ChoiceKeys:
    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn

    def __call__(self) -> tuple[bytes, ...]:
        from aws_lambda_powertools.utilities import parameters  # only the notifier and the choices read it

        value = parameters.get_secret(self.secret_arn, max_age=MAX_AGE)
        text = str(value or "")
        return (text.encode(),) if len(text) >= 32 else ()
