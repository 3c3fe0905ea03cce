"""The seventeenth round of the translation fact check: the daytime against the night, a part
of the day named in words beside the source's, a denied order word on both sides, Italian
"sei" counting, and the round's fixes of faithful pairs the check had withheld.

The wrong cases passed the check before, the faithful ones were withheld before (from the
hand-labelled set Q, bench/data/translate_pairs/q_independent.json), except the "guard"
cases, which passed before too and keep the new rules from false alarms or missed drops. No
model: fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check

WRONG = [
    (
        "As obras na estrada vão decorrer durante a noite.",
        "pt",
        "De wegwerkzaamheden vinden overdag plaats.",
        "nl",
    ),
    (
        "De trouwerij is 's middags in het stadhuis, het feest 's avonds in de tuin.",
        "nl",
        "Die Trauung ist vormittags im Rathaus, die Feier abends im Garten.",
        "de",
    ),
    (
        "Prendi la pastiglia prima di colazione, non dopo.",
        "it",
        "Take the tablet after breakfast, not before.",
        "en",
    ),
    (
        "Nel condominio ci sono sedici appartamenti, ma solo sei hanno il garage.",
        "it",
        "There are sixteen flats in the building, but only seven of them have a garage.",
        "en",
    ),
    (
        "La farmacia de guardia está abierta hasta las doce de la noche.",
        "es",
        "The duty pharmacy is open until twelve noon.",
        "en",
    ),
    (
        "Anteayer se me olvidó la bufanda en el autobús de la línea 27.",
        "es",
        "Yesterday I left my scarf on the number 27 bus.",
        "en",
    ),
    # Guards: a dropped denial of "until" or "before" is still caught.
    ("You can't check in until 9 o'clock.", "en", "Du kannst bis 9 Uhr einchecken.", "de"),
    ("Não tome o medicamento antes das refeições.", "pt", "Take the medicine before meals.", "en"),
]

FAITHFUL = [
    (
        "Die Tabletten nimmt er morgens und abends, jeweils nach dem Essen.",
        "de",
        "Prende le compresse la mattina e la sera, sempre dopo mangiato.",
        "it",
    ),
    (
        "Her parents live just outside Brussels, near the airport.",
        "en",
        "Haar ouders wonen net buiten Brussel, vlak bij het vliegveld.",
        "nl",
    ),
    (
        "Notre location de vacances se trouve en Bretagne, à deux pas de la plage.",
        "fr",
        "Unsere Ferienwohnung liegt in der Bretagne, nur einen Katzensprung vom Strand entfernt.",
        "de",
    ),
    (
        "Il pacco arriva dalla Svizzera, quindi bisogna pagare la dogana.",
        "it",
        "The parcel is coming from Switzerland, so customs duty has to be paid.",
        "en",
    ),
    (
        "We gaan deze zomer met de camper door Noorwegen.",
        "nl",
        "Quest'estate giriamo la Norvegia in camper.",
        "it",
    ),
    (
        "Il corso di nuoto è per bambini dai sei agli otto anni.",
        "it",
        "Der Schwimmkurs ist für Kinder von sechs bis acht Jahren.",
        "de",
    ),
    (
        "Esta noche las temperaturas bajarán hasta cinco grados bajo cero.",
        "es",
        "Cette nuit, les températures descendront jusqu'à moins cinq degrés.",
        "fr",
    ),
    (
        "We lost 2-1 to Riverside in the last minute.",
        "en",
        "Wir haben in der letzten Minute 1:2 gegen Riverside verloren.",
        "de",
    ),
    (
        "Please don't arrive before 8:45, the caretaker only unlocks the door then.",
        "en",
        "Bitte kommt frühestens um 8:45 Uhr, erst dann schließt der Hausmeister die Tür auf.",
        "de",
    ),
    (
        "Don't forget to water the tomatoes while we're away.",
        "en",
        "Pense à arroser les tomates pendant notre absence.",
        "fr",
    ),
    # Guards: passed before, and must still.
    (
        "Il corriere passa giovedì mattina tra le 9 e le 13.",
        "it",
        "The courier will come on Thursday morning between 9 a.m. and 1 p.m.",
        "en",
    ),
    ("Sei pronto? Sei a casa?", "it", "Are you ready? Are you home?", "en"),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_part_of_day_order_or_count_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_a_faithful_translation_is_kept(source: str, sl: str, translation: str, tl: str) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)
