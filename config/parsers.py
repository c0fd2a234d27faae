import json

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class JSONObjectParser(JSONParser):
    """DRF's strict JSON parser, also refusing what would only fail later: nesting deep enough to
    exhaust the recursion limit, and lone UTF-16 surrogates that no response could echo back."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except RecursionError:
            raise exceptions.ParseError("The JSON is nested too deeply.") from None
        except UnicodeEncodeError:
            raise exceptions.ParseError("The JSON contains an unpaired UTF-16 surrogate.") from None
        return data
