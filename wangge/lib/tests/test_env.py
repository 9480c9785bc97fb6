import pytest

from wangge.lib.env import EnvError, env_bool, env_choice, env_float, env_int, env_list, env_str


def test_values_are_read_and_defaults_apply():
    environ = {"A": "x", "B": "yes", "C": "12", "D": "0.5", "E": "a, b,,c"}
    assert env_str("A", environ=environ) == "x"
    assert env_str("MISSING", "d", environ=environ) == "d"
    assert env_bool("B", False, environ=environ) is True
    assert env_int("C", 0, environ=environ) == 12
    assert env_float("D", 0.0, environ=environ) == 0.5
    assert env_list("E", [], environ=environ) == ["a", "b", "c"]
    assert env_choice("A", "y", ("x", "y"), environ=environ) == "x"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: env_str("REQ", environ=e), "REQ is required"),
        (
            lambda e: env_bool("FLAG", False, environ={"FLAG": "maybe"}),
            "FLAG='maybe' is not a bool",
        ),
        (lambda e: env_int("N", 1, environ={"N": "1.5"}), "N='1.5' is not an integer"),
        (lambda e: env_int("N", 1, minimum=2, environ={"N": "1"}), "N=1 is below the minimum 2"),
        (lambda e: env_float("F", 1, environ={"F": "inf"}), "F='inf' is not a finite number"),
        (
            lambda e: env_float("F", 1, maximum=3, environ={"F": "4"}),
            "F=4.0 is above the maximum 3",
        ),
        (
            lambda e: env_choice("C", "a", ("a", "b"), environ={"C": "z"}),
            "C='z' is not one of: a, b",
        ),
    ],
)
def test_bad_values_name_the_variable(call, message):
    with pytest.raises(EnvError, match=message.replace("(", r"\(")):
        call({})


def test_a_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n", encoding="utf-8")
    assert env_str("KEY", environ={"KEY_FILE": str(secret)}) == "s3cret"
    with pytest.raises(EnvError, match="KEY_FILE: cannot read"):
        env_str("KEY", environ={"KEY_FILE": str(tmp_path / "absent")})
