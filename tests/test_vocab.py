import pytest

from gapmap.vocab import (
    ALL_DAYS_MASK,
    WEEKEND_MASK,
    count_days,
    days_text,
    parse_days,
    parse_services,
    services_text,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mon;Tue", "Mon;Tue"),
        ("monday, WEDNESDAY", "Mon;Wed"),
        ("Mon-Fri", "Mon;Tue;Wed;Thu;Fri"),
        ("Sat-Mon", "Mon;Sat;Sun"),
        ("weekdays", "Mon;Tue;Wed;Thu;Fri"),
        ("weekends", "Sat;Sun"),
        ("all", "Mon;Tue;Wed;Thu;Fri;Sat;Sun"),
        ("Tue to Thu; Sun", "Tue;Wed;Thu;Sun"),
    ],
)
def test_days_accept_names_ranges_and_words(text, expected):
    assert days_text(parse_days(text)) == expected


@pytest.mark.parametrize("text", ["", "Funday", "Mon;Holiday", "Mon-Xyz"])
def test_days_reject_unknown_words(text):
    with pytest.raises(ValueError):
        parse_days(text)


def test_weekend_and_counts():
    assert parse_days("weekends") == WEEKEND_MASK
    assert count_days(parse_days("Mon;Wed;Sat")) == 3
    assert count_days(ALL_DAYS_MASK) == 7


def test_services_case_and_aliases():
    assert services_text(parse_services("Personal care; DOMESTIC,social")) == (
        "personal_care;domestic;social"
    )


def test_services_unknown_named_in_message():
    with pytest.raises(ValueError, match="'gardening'"):
        parse_services("domestic;gardening")
