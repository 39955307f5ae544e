"""Search attributes promised in INTERFACE.md, registered wherever a server is started."""

from temporalio.common import SearchAttributeKey

CENTER_PHASE = SearchAttributeKey.for_keyword("CenterPhase")
CENTER_COUNTY = SearchAttributeKey.for_keyword("CenterCounty")
CENTER_FIELD = SearchAttributeKey.for_keyword("CenterField")
LAST_GRADE = SearchAttributeKey.for_keyword("LastGrade")
ENTITY_CREDIT_CODE = SearchAttributeKey.for_keyword("EntityCreditCode")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")

ALL = (CENTER_PHASE, CENTER_COUNTY, CENTER_FIELD, LAST_GRADE, ENTITY_CREDIT_CODE, NEXT_DEADLINE)

# name -> type as the `temporal server start-dev --search-attribute NAME=TYPE` flag spells it
CLI_TYPES: dict[str, str] = {key.name: ("Datetime" if key is NEXT_DEADLINE else "Keyword") for key in ALL}
