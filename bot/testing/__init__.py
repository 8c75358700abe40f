"""Protocol-faithful local stand-ins for Telegram's Bot API, Slack's Web API and an OpenAI-compatible
server, on 127.0.0.1: used by the tests and by `newsbot bench`, never by the product."""
