"""The conversational formulas :mod:`privcloud.workloads.translate_phrasebook` translates
without a language model: what people say on the phone to greet, thank, agree, apologise, ask
to repeat, hold the line and take leave, in the seven languages the fact check reads.

Each :class:`Formula` lists, per language, the forms a speaker says (lower case, as a speech
recogniser writes them once punctuation is set aside); the **first** form, written as it is
written in a sentence (German nouns capitalised, English "I"), is the rendering into that
language. A form belongs to one formula per language; a form that means two things as a whole
utterance ("ciao" is hello and goodbye, Dutch "dag" too; German "Bitte." is please, you're
welcome or here you are; Italian "Prego." likewise; "buenas noches" is good evening and good
night) is in no formula, so such an utterance goes to the language model with its context.
The forms of :data:`ASKED` formulas match only a unit the speaker asked ("Sorry?" asks to
repeat, "Sorry." apologises); :data:`NOT_ALONE` ones ("please") only beside another formula.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Formula:
    """One formula: its ``rendering`` into each language and the ``said`` forms it is
    recognised by (lower case)."""

    name: str
    rendering: dict[str, str]
    said: dict[str, tuple[str, ...]]


def _f(name: str, **forms: str) -> Formula:
    """A formula from ``language="rendering|form|form..."`` arguments: the rendering is said
    too unless it is written ``=rendering`` (French "bonjour" renders good morning and good
    afternoon but, said, is read as hello)."""
    rendering: dict[str, str] = {}
    said: dict[str, tuple[str, ...]] = {}
    for lang, spec in forms.items():
        first, *rest = spec.split("|")
        rendering[lang] = first.removeprefix("=")
        heard = rest if first.startswith("=") else [first, *rest]
        said[lang] = tuple(dict.fromkeys(form.lower() for form in heard))
    return Formula(name, rendering, said)


#: The languages every formula is written in.
LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl")

# fmt: off
FORMULAS: tuple[Formula, ...] = (
    _f("thanks",
       en="thank you|thanks",
       es="gracias",
       fr="merci|merci bien",
       de="danke",
       it="grazie",
       pt="obrigado|obrigada",
       nl="bedankt|dank je|dank u|dank je wel|dank u wel|dankjewel|dankuwel"),
    _f("thanks_a_lot",
       en="thank you very much|thanks a lot|many thanks|thanks a million|"
          "thank you very much indeed|thank you so much|thanks so much",
       es="muchas gracias|mil gracias|muchísimas gracias",
       fr="merci beaucoup|merci mille fois|merci infiniment",
       de="vielen Dank|danke schön|dankeschön|danke sehr|vielen herzlichen dank|herzlichen dank|"
          "danke vielmals",
       it="grazie mille|molte grazie|grazie tante|tante grazie",
       pt="muito obrigado|muito obrigada|muitíssimo obrigado|muitíssimo obrigada",
       nl="hartelijk dank|heel erg bedankt|hartelijk bedankt|heel hartelijk bedankt"),
    _f("you_are_welcome",
       en="you're welcome|you are welcome|my pleasure|don't mention it",
       es="de nada|no hay de qué",
       fr="de rien|je vous en prie|je t'en prie|il n'y a pas de quoi",
       de="gern geschehen|keine Ursache|nichts zu danken",
       it="di niente|di nulla|non c'è di che",
       pt="de nada|por nada|não há de quê|não tem de quê",
       nl="graag gedaan|geen dank|niets te danken"),
    _f("no_problem",
       en="no problem|no worries|no problem at all",
       es="no hay problema|sin problema|ningún problema|no pasa nada",
       fr="pas de problème|pas de souci|pas de soucis|aucun problème|il n'y a pas de problème",
       de="kein Problem|überhaupt kein problem|kein ding",
       it="nessun problema|non c'è problema|non fa niente",
       pt="sem problema|sem problemas|não tem problema|não há problema",
       nl="geen probleem|geen punt|geeft niks|geen zorgen"),
    _f("yes",
       en="yes|yeah|yep|yup",
       es="sí|si",
       fr="oui|ouais",
       de="ja|jawohl|jep",
       it="sì|si",
       pt="sim",
       nl="ja|jawel|jep"),
    _f("no",
       en="no|nope",
       es="no",
       fr="non",
       de="nein|nee",
       it="no",
       pt="não",
       nl="nee|neen"),
    _f("okay",
       en="okay|ok|okey|all right|alright|okay then|all right then",
       es="de acuerdo|vale|ok|okay|okey|está bien|muy bien entonces",
       fr="d'accord|ok|okay|entendu|ça marche|ça roule",
       de="okay|ok|in Ordnung|alles klar|geht klar|einverstanden",
       it="va bene|d'accordo|ok|okay|va be'",
       pt="está bem|tá bom|tá bem|ok|okay|combinado|beleza",
       nl="oké|ok|okay|oke|in orde|afgesproken|is goed|prima"),
    _f("good",
       en="good|fine|very good|very well",
       es="bien|muy bien",
       fr="bien|très bien",
       de="gut|sehr gut",
       it="bene|molto bene|benissimo",
       pt="muito bem|muito bom|tá ótimo",
       nl="goed|heel goed|zeer goed"),
    _f("great",
       en="great|excellent|wonderful|fantastic|brilliant|awesome",
       es="genial|estupendo|excelente|fantástico|maravilloso|buenísimo",
       fr="super|génial|excellent|formidable|parfait alors|magnifique",
       de="super|toll|prima|ausgezeichnet|wunderbar|klasse|großartig|spitze",
       it="ottimo|fantastico|eccellente|splendido|magnifico|grande",
       pt="ótimo|excelente|maravilha|fantástico|que ótimo|show",
       nl="geweldig|super|uitstekend|fantastisch|top|fijn|heerlijk"),
    _f("perfect",
       en="perfect",
       es="perfecto",
       fr="parfait",
       de="perfekt",
       it="perfetto",
       pt="perfeito",
       nl="perfect"),
    _f("exactly",
       en="exactly|precisely|that's right|that is right|that's correct|correct|quite right",
       es="exacto|exactamente|eso es|correcto|así es|efectivamente",
       fr="exactement|c'est ça|tout à fait|c'est exact|précisément|c'est bien ça|voilà",
       de="genau|richtig|stimmt|das stimmt|ganz genau|korrekt|eben",
       it="esatto|esattamente|giusto|proprio così|appunto|è così",
       pt="exatamente|exato|isso mesmo|é isso|isso|correto|é isso mesmo",
       nl="precies|klopt|dat klopt|inderdaad|juist|correct|dat is het"),
    _f("of_course",
       en="of course|sure|certainly|absolutely|definitely|sure thing",
       es="claro|por supuesto|claro que sí|desde luego|cómo no",
       fr="bien sûr|évidemment|bien entendu|absolument|certainement|bien sûr que oui",
       de="natürlich|klar|sicher|selbstverständlich|na klar|aber sicher|auf jeden fall|"
          "na sicher|logisch",
       it="certo|certamente|naturalmente|ovviamente|sicuro|come no|certo che sì|senz'altro",
       pt="claro|com certeza|claro que sim|certamente|lógico|pois claro|sem dúvida",
       nl="natuurlijk|zeker|tuurlijk|uiteraard|vanzelfsprekend|zeker weten|absoluut"),
    _f("hello",
       en="hello|hi|hey|hi there|hello there",
       es="hola|buenas",
       fr="bonjour|salut|coucou|allô|allo",
       de="hallo|hi|servus|moin|grüß gott|guten Tag|grüezi",
       it="salve",
       pt="olá|oi|oi oi",
       nl="hallo|hoi|hai|goedendag|hallo daar"),
    _f("answering",
       en="hello|hi|hello hello",
       es="hola|diga|dígame|aló|alo|bueno|sí dígame|hola hola",
       fr="allô|allo|allô allô|oui allô",
       de="hallo|hallo hallo|ja hallo",
       it="pronto|pronto pronto|sì pronto",
       pt="alô|alo|alô alô|estou",
       nl="hallo|hallo hallo|ja hallo"),
    _f("good_morning",
       en="good morning|morning",
       es="buenos días",
       fr="=bonjour",
       de="guten Morgen",
       it="buongiorno",
       pt="bom dia",
       nl="goedemorgen|goeiemorgen"),
    _f("good_afternoon",
       en="good afternoon",
       es="buenas tardes",
       fr="=bonjour",
       de="=guten Tag",
       it="buon pomeriggio",
       pt="boa tarde",
       nl="goedemiddag|goeiemiddag"),
    _f("good_evening",
       en="good evening",
       es="=buenas noches",
       fr="bonsoir",
       de="guten Abend|n'abend",
       it="buonasera|buona sera",
       pt="=boa noite",
       nl="goedenavond|goeienavond"),
    _f("goodbye",
       en="goodbye|bye|bye bye|bye-bye|good bye",
       es="adiós|chao|chau|adiós adiós",
       fr="au revoir|au revoir madame|au revoir monsieur",
       de="auf Wiederhören|tschüss|tschüs|auf wiedersehen|wiederhören|ciao",
       it="arrivederci|arrivederla|ciao ciao",
       pt="tchau|adeus|tchau tchau",
       nl="tot ziens|doei|dag dag|daag|doeg|tot horens"),
    _f("see_you",
       en="see you later|see you|see you soon|talk to you later|talk soon|speak soon|"
          "talk to you soon|speak to you soon",
       es="hasta luego|hasta pronto|nos vemos|hablamos|hasta la próxima|nos hablamos",
       fr="à bientôt|à plus tard|à plus|à tout à l'heure|à la prochaine",
       de="bis bald|bis später|bis dann|bis nachher|wir hören uns|bis zum nächsten mal",
       it="a presto|a dopo|ci vediamo|ci sentiamo|alla prossima|a più tardi",
       pt="até logo|até mais|até breve|até já|até a próxima|até à próxima|falamos",
       nl="tot later|tot straks|tot zo|tot gauw|spreek je|we spreken elkaar|tot de volgende keer"),
    _f("have_a_nice_day",
       en="have a nice day|have a good day|have a great day|have a nice day too",
       es="que tenga un buen día|que tengas un buen día|que le vaya bien|que te vaya bien|"
          "feliz día",
       fr="bonne journée|passez une bonne journée|bonne fin de journée",
       de="schönen Tag noch|einen schönen tag|einen schönen tag noch|schönen tag",
       it="buona giornata|buona giornata anche a lei|buona continuazione",
       pt="tenha um bom dia|tenha um ótimo dia",
       nl="fijne dag nog|fijne dag|prettige dag|nog een fijne dag|een fijne dag"),
    _f("take_care",
       en="take care|look after yourself",
       es="cuídese|cuídate",
       fr="prenez soin de vous|prends soin de toi",
       de="mach's gut|machen sie's gut|pass auf dich auf",
       it="stammi bene|si riguardi|abbi cura di te",
       pt="cuide-se|se cuida|cuida-te",
       nl="pas goed op jezelf|het ga je goed|houd je goed"),
    _f("nice_to_meet_you",
       en="nice to meet you|pleased to meet you|nice meeting you",
       es="encantado|encantada|mucho gusto|un placer",
       fr="enchanté|enchantée|ravi de vous rencontrer|ravie de vous rencontrer",
       de="freut mich|sehr erfreut|freut mich sehr|angenehm",
       it="piacere|molto piacere|piacere di conoscerla|piacere di conoscerti",
       pt="muito prazer|prazer|prazer em conhecê-lo|prazer em conhecê-la",
       nl="aangenaam|leuk je te ontmoeten|aangenaam kennis te maken"),
    _f("sorry",
       en="sorry|i'm sorry|i am sorry|so sorry|i'm so sorry|my apologies|apologies",
       es="lo siento|lo siento mucho|perdona|disculpa|mis disculpas",
       fr="désolé|désolée|je suis désolé|je suis désolée|toutes mes excuses|excuse-moi",
       de="tut mir leid|es tut mir leid|sorry|das tut mir leid|tut mir echt leid",
       it="mi dispiace|scusa|scusami|mi scusi tanto",
       pt="desculpe|desculpa|sinto muito|me desculpe|desculpa-me|peço desculpa",
       nl="sorry|het spijt me|sorry hoor|excuses|mijn excuses"),
    _f("excuse_me",
       en="excuse me|pardon me",
       es="disculpe|perdone|perdón|con permiso",
       fr="excusez-moi|pardon",
       de="Entschuldigung|verzeihung|entschuldigen sie|verzeihen sie",
       it="scusi|mi scusi|permesso",
       pt="com licença|perdão|desculpe-me",
       nl="pardon|excuseer|neem me niet kwalijk"),
    _f("please",
       en="please",
       es="por favor",
       fr="s'il vous plaît|s'il te plaît|svp",
       de="bitte|bitte schön|bitte sehr",
       it="per favore|per piacere|per cortesia",
       pt="por favor|se faz favor|faz favor",
       nl="alstublieft|alsjeblieft|graag"),
    _f("pardon",
       en="sorry|pardon|excuse me|what|come again|sorry what|i beg your pardon|say again|"
          "what was that|what did you say|pardon me",
       es="cómo|perdón|qué|mande|disculpe|perdone|cómo dice|qué dice|qué dijo|cómo dijo",
       fr="pardon|comment|quoi|hein|vous dites|excusez-moi|pardon madame|pardon monsieur",
       de="wie bitte|bitte|was|wie|Entschuldigung|was haben sie gesagt|was hast du gesagt",
       it="come|scusi|prego|cosa|come scusi|che cosa|come ha detto|cos'ha detto",
       pt="como|desculpe|o quê|quê|perdão|como disse|o que disse|hã",
       nl="pardon|wat|wablief|sorry|hoe bedoelt u|wat zei je|wat zegt u"),
    _f("one_moment",
       en="one moment|just a moment|one second|just a second|hold on|hang on|a moment|"
          "wait a moment|wait a second|one sec|just a sec|hold on a second|hang on a second|"
          "just one moment|give me a second|bear with me",
       es="un momento|un momentito|un segundo|espere|espera|"
          "espere un momento|espera un momento|un segundito",
       fr="un instant|un moment|une seconde|ne quittez pas|attendez|un petit instant|"
          "une petite seconde|attendez un instant",
       de="einen Moment|moment|einen augenblick|augenblick|sekunde|eine sekunde|warten sie|"
          "einen kleinen moment|bleiben sie dran|"
          "moment mal",
       it="un attimo|un momento|attenda|aspetta|un secondo|un attimo solo|resti in linea|"
          "aspetti|un attimino",
       pt="um momento|um minuto|só um momento|um segundo|espere|aguarde|um momentinho|"
          "um instante|só um minuto|só um segundo|aguarde um momento",
       nl="een moment|momentje|een momentje|even wachten|wacht even|een ogenblik|ogenblikje|"
          "een ogenblikje|blijft u aan de lijn|moment|een seconde"),
    _f("can_you_hear_me",
       en="can you hear me|can you hear me now|do you hear me",
       es="me oye|me oyes|me escucha|me escuchas|me oye bien|me escucha bien",
       fr="vous m'entendez|tu m'entends|vous m'entendez bien|tu m'entends bien|"
          "est-ce que vous m'entendez|est-ce que tu m'entends",
       de="hören Sie mich|hörst du mich|können sie mich hören|kannst du mich hören",
       it="mi sente|mi senti|mi sentite|mi sente bene|mi senti bene",
       pt="consegue me ouvir|está me ouvindo|me ouve|você me ouve|me ouves|ouve-me|"
          "está-me a ouvir|consegues ouvir-me",
       nl="hoort u mij|hoor je me|hoor je mij|kun je me horen|kunt u mij horen"),
    _f("i_cannot_hear_you",
       en="I can't hear you|i cannot hear you|i can't hear you very well|i can't hear you well",
       es="no le oigo|no te oigo|no le escucho|no te escucho|no se oye|no se oye nada|"
          "no le oigo bien|no te oigo bien|no te escucho bien|no le escucho bien",
       fr="je ne vous entends pas|je ne t'entends pas|je vous entends mal|je t'entends mal|"
          "je n'entends rien|on n'entend rien",
       de="ich höre Sie nicht|ich höre dich nicht|ich kann sie nicht hören|"
          "ich kann dich nicht hören|ich höre sie schlecht|ich höre dich schlecht|"
          "ich höre nichts",
       it="non la sento|non ti sento|non si sente|non la sento bene|non ti sento bene|"
          "non sento niente|non si sente niente",
       pt="não consigo ouvir você|não estou te ouvindo|não te ouço|não consigo te ouvir|"
          "não ouço nada|não estou a ouvir|não o ouço",
       nl="ik hoor u niet|ik hoor je niet|ik kan je niet horen|ik kan u niet horen|"
          "ik hoor je slecht|ik hoor niks|ik hoor niets"),
    _f("i_see",
       en="I see|got it|understood|i understand|gotcha|i get it",
       es="entiendo|ya veo|entendido|comprendo|ya entiendo",
       fr="je vois|compris|je comprends|ah je vois|j'ai compris",
       de="verstehe|ich verstehe|verstanden|ach so|aha|ich versteh|alles verstanden",
       it="capisco|capito|ho capito|ah ecco|ah capisco",
       pt="entendi|entendo|compreendo|percebi|percebo|ah tá",
       nl="ik begrijp het|begrepen|ik snap het|snap ik|ah zo|o zo|aha"),
    _f("uh_huh",
       en="uh-huh|mm-hmm|mhm|uh huh|mm hmm|mmhmm",
       es="ajá|aja|mhm|ajá ajá",
       fr="mm-hmm|mhm|hum hum|ouais ouais",
       de="mhm|mh-hm|ja ja|jaja",
       it="mhm|sì sì|ah ah",
       pt="aham|uhum|ahã",
       nl="mhm|ja ja|jaja|hm-hm"),
    _f("really",
       en="really|seriously|is that so|oh really|really now",
       es="de verdad|en serio|ah sí|de veras|no me digas",
       fr="vraiment|ah bon|c'est vrai|sérieusement|sans blague",
       de="wirklich|echt|tatsächlich|ernsthaft|im ernst|ach wirklich",
       it="davvero|sul serio|veramente|ah sì|ma dai|dici sul serio",
       pt="sério|é mesmo|jura|verdade|a sério|de verdade",
       nl="echt|werkelijk|meen je dat|serieus|echt waar"),
    _f("hesitation",
       en="uh|um|er|erm|eh|uhm|umm",
       es="eh|em|ehm|mmm",
       fr="euh|heu|euhm",
       de="äh|ähm|öhm|äähm",
       it="ehm|eh|ehmm|uhm",
       pt="hum|hã|éh|ãh|ahn",
       nl="eh|ehm|uh|uhm|euh"),
    _f("hmm",
       en="hmm|hm|mmm|hmmm",
       es="hmm|hm|mm",
       fr="hmm|hm|mmm",
       de="hmm|hm|mmm",
       it="hmm|hm|mmm",
       pt="hmm|hm|mmm",
       nl="hmm|hm|mmm"),
    _f("ah",
       en="ah|oh|ahh|ohh|aha",
       es="ah|oh|ahh",
       fr="ah|oh|ahh",
       de="ah|oh|ach|ahh|oh je",
       it="ah|oh|ahh",
       pt="ah|oh|ahh|ó",
       nl="ah|oh|och"),
    _f("well",
       en="well|so|well then",
       es="bueno|pues|bueno pues|pues bueno",
       fr="eh bien|bon|ben|bah|bon ben|alors",
       de="na ja|naja|nun|also|tja",
       it="beh|be'|allora|mah|dunque|ebbene",
       pt="bem|bom|pois bem|então|ora",
       nl="nou|tja|nou ja|goed dan|nou goed"),
    _f("anyway",
       en="anyway|anyhow|in any case",
       es="en fin|pues nada|bueno nada|en cualquier caso|de todos modos",
       fr="bref|enfin bref|en tout cas|de toute façon|bon ben voilà",
       de="jedenfalls|wie auch immer|na gut|egal|sei's drum",
       it="comunque|insomma|in ogni caso|vabbè|e niente|vabbe'",
       pt="enfim|de qualquer forma|bom enfim|de qualquer maneira",
       nl="enfin|hoe dan ook|in ieder geval|nou ja goed|anyway"),
    _f("nothing",
       en="nothing",
       es="nada",
       fr="rien",
       de="nichts",
       it="niente|nulla",
       pt="nada",
       nl="niets|niks"),
    _f("that_is_all",
       en="that's all|that's it|nothing else|that is all|that's everything",
       es="eso es todo|nada más|ya está",
       fr="c'est tout|rien d'autre|ce sera tout",
       de="das ist alles|das war's|nichts weiter|sonst nichts|das war alles",
       it="è tutto|nient'altro|basta così",
       pt="é tudo|nada mais|só isso|mais nada|é só isso",
       nl="dat is alles|verder niets|dat was het|niets meer|dat was alles"),
    _f("speaking",
       en="speaking|this is he|this is she|that's me|it's me",
       es="soy yo|al habla|sí soy yo|yo mismo|yo misma",
       fr="c'est moi|lui-même|elle-même|c'est bien moi",
       de="am Apparat|das bin ich|ich bin's|ja das bin ich",
       it="sono io|in persona|sì sono io",
       pt="sou eu|é ele|é ela|sim sou eu|é o próprio|é a própria",
       nl="daar spreekt u mee|dat ben ik|met mij|spreekt u mee"),
)
# fmt: on

#: Formulas whose forms match only a unit the speaker asked (it ends with "?").
ASKED = frozenset({"pardon", "can_you_hear_me", "answering"})
#: Formulas that never stand for a whole utterance alone: German "Bitte." is please, you're
#: welcome or here you are; "Ja, bitte." and "Per favore, un attimo." are read.
NOT_ALONE = frozenset({"please"})
#: Formulas that may also be asked, keeping their question mark ("Okay?", "Really?", "Yes?");
#: any other formula in an asked unit leaves the utterance to the language model ("So?").
ASKABLE = frozenset({
    "yes", "no", "okay", "good", "great", "perfect", "exactly", "of_course", "hello",
    "really", "hmm", "ah", "nothing", "that_is_all",
})  # fmt: skip
