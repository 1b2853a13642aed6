"""The built-in semantic items on the real embedding model: paraphrases of the reference pass, wrong answers fail.

Similarity to a reference measures closeness of meaning, not truth: on all-MiniLM-L6-v2 "a vaccine is a type of
vitamin" scores 0.69 against "a vaccine trains the immune system…", above a correct paraphrase's 0.57. So the
built-in sets grade facts with contains/numeric graders and keep semantic items to explanations whose
paraphrases and wrong answers separate; each threshold sits between the two groups below.
"""
import numpy as np
import pytest

from monitoring.embeddings import encode
from monitoring.probes.goldens import load_builtin

ANSWERS = {
    "explain-01": (["It measures how hot or cold something is.",
                    "A thermometer is used to measure the temperature of a body or the air."],
                   ["It measures air pressure.", "It measures how heavy something is."]),
    "explain-02": (["Because the Earth is tilted on its axis, parts of it get more sunlight at different times of year.",
                    "The tilt of Earth's axis changes how directly sunlight hits each hemisphere over the year."],
                   ["Because Earth is closer to the Sun in summer.", "Because the Moon blocks the Sun in winter."]),
    "explain-03": (["Plants use light energy to make glucose from CO2 and water, releasing oxygen.",
                    "It is the process by which green plants make food from sunlight, water and carbon dioxide."],
                   ["Photosynthesis is how animals digest food.", "It is the way plants absorb nutrients from the soil."]),
    "explain-04": (["A bill sent by a supplier that lists the items bought and how much the customer owes.",
                    "A document requesting payment for goods or services delivered."],
                   ["A receipt you get after you have paid.", "A kind of tax."]),
}


@pytest.fixture(scope="module")
def semantic_items():
    items = [item for item in load_builtin("general-capability")["items"] if item["grader"] == "semantic"]
    assert {item["key"] for item in items} == set(ANSWERS)
    return items


def test_paraphrases_pass_and_wrong_answers_fail_each_semantic_item(semantic_items):
    for item in semantic_items:
        good, bad = ANSWERS[item["key"]]
        vectors = encode([item["reference"], *good, *bad])
        similarity = vectors[1:] @ vectors[0]
        threshold = item["config"]["threshold"]
        assert np.all(similarity[:len(good)] >= threshold), (item["key"], similarity.round(3).tolist())
        assert np.all(similarity[len(good):] < threshold), (item["key"], similarity.round(3).tolist())
