"""The custom search attributes every transition workflow keeps up to date.

Operators list stalled transitions with them in the Temporal CLI and Web UI, e.g.
``temporal workflow list --query "EscalationLevel > 0"``. Values are opaque ids and
codes only: search attributes are stored unencrypted, so no personal data goes here.
The dev server allows 10 Keyword and 3 of each other type per namespace; plan additions.
"""

from temporalio.common import SearchAttributeKey

TRANSITION_KIND = SearchAttributeKey.for_keyword("TransitionKind")
TRANSITION_STATUS = SearchAttributeKey.for_keyword("TransitionStatus")
MUNICIPALITY_NUMBER = SearchAttributeKey.for_keyword("MunicipalityNumber")
ORIGIN_UNIT = SearchAttributeKey.for_keyword("OriginUnit")
OWNER_UNITS = SearchAttributeKey.for_keyword_list("OwnerUnits")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
BOUNCE_COUNT = SearchAttributeKey.for_int("BounceCount")
OVERDUE = SearchAttributeKey.for_bool("Overdue")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")

ALL_KEYS = (
    TRANSITION_KIND,
    TRANSITION_STATUS,
    MUNICIPALITY_NUMBER,
    ORIGIN_UNIT,
    OWNER_UNITS,
    ESCALATION_LEVEL,
    BOUNCE_COUNT,
    OVERDUE,
    NEXT_DEADLINE,
)

# Names as the Temporal CLI's `--search-attribute Name=Type` flag spells the types.
_CLI_TYPE_NAMES = {
    "KEYWORD": "Keyword",
    "KEYWORD_LIST": "KeywordList",
    "INT": "Int",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "DOUBLE": "Double",
    "TEXT": "Text",
}


def cli_flags() -> dict[str, str]:
    """Search attribute name -> type name, as `temporal server start-dev` takes them."""
    return {
        key.name: _CLI_TYPE_NAMES[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")]
        for key in ALL_KEYS
    }
