from wangge.core.models import User


def test_a_chinese_name_is_written_family_name_first_without_a_space():
    assert User(first_name="丽华", last_name="张").get_full_name() == "张丽华"


def test_a_western_name_keeps_djangos_order():
    assert User(first_name="Anna", last_name="Li").get_full_name() == "Anna Li"
    assert User(first_name="", last_name="").get_full_name() == ""
