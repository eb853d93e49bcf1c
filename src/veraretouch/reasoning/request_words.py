"""The words style requests are read with (`requests`): strength words and factors, the adjectives,
nouns, zones, colour bands and colour words each clause is matched against, the verbs and flips,
and the requests outside tone and colour (`OUT_OF_SCOPE`)."""
from __future__ import annotations

import re

STRENGTHS = {"small": 0.45, "medium": 1.0, "large": 1.7, "very large": 2.3}
"""Strength factors the moves of `MOVES` are multiplied by: "slightly warmer" moves 0.45 x what
"warmer" does, "much warmer" 1.7 x (strength monotonicity: benchmarks/style_requests.py)."""

STRENGTH_WORDS = {
    "small": ("a touch", "a tad", "a hair", "a smidge", "a smidgen", "a little bit", "a little", "a wee bit", "a bit",
              "slightly", "subtly", "subtle", "gently", "gentle", "somewhat", "mildly", "mild", "lightly",
              "marginally", "faintly", "barely", "just a", "kind of", "a shade", "a notch", "hint of", "touch of"),
    "large": ("a lot", "lots", "much", "very", "really", "way", "heavily", "strongly", "significantly",
              "considerably", "far", "seriously", "big", "bold", "boldly", "hugely", "properly", "noticeably",
              "loads", "tons", "greatly", "deeply", "strong", "heavy", "plenty"),
    "very large": ("extremely", "massively", "dramatically", "drastically", "super", "insanely", "totally",
                   "enormously", "wildly", "radically", "as much as possible", "all the way", "maximum", "max"),
}

ATTRIBUTE_LABELS = {
    "brightness": ("brighter", "darker"), "contrast": ("more contrast", "less contrast"),
    "saturation": ("more saturated", "less saturated"), "vibrance": ("more vibrance", "less vibrance"),
    "warmth": ("white balance warmer", "white balance cooler"), "tint": ("tint towards magenta", "tint towards green"),
    "monochrome": ("black and white", "keep the colour"), "sepia": ("sepia toning", "no sepia"),
    "fade": ("faded, matte blacks", "less faded, denser blacks"), "split_tone": ("split toning", "no split toning"),
    "hue": ("hue shift", "hue shift"), "toning": ("colour toning", "less colour toning"),
}

# --------------------------------------------------------------------------------------------- vocabulary
REWRITES = (  # (pattern, replacement), applied in order to the lower-cased request
    (r"[’‘`]", "'"),
    (r"\bcolours?\b", lambda m: "color" + ("s" if m.group(0).endswith("s") else "")),
    (r"\bgrey", "gray"),
    (r"\bblack[\s-]*(and|&|n'?)[\s-]*white\b|\bb\s*&\s*w\b|\bb/w\b", " monochrome "),
    (
        r"\b(teal|blue|cyan)[\s-]*(and|&|/)[\s-]*orange\b|\borange[\s-]*(and|&|/)[\s-]*(teal|blue|cyan)\b",
        " tealorange ",
    ),
    (r"\bsplit[\s-]*ton(e|ed|ing)\b", " splittone "),
    (
        r"\b(remove|drain|strip|suck|take out|lose|drop|kill|get rid of) "
        r"(out )?(all |the |every )?(of )?(the )?colors?\b"
        r"(?! cast)",
        " monochrome ",
    ),
    (r"\b(no|without|zero) colors?\b", " monochrome "),
    (r"\bcolorless\b", " monochrome "),
    (r"\bhigh[\s-]*key\b", " brighter "),
    (r"\blow[\s-]*key\b", " darker "),
    (r"\bhigh[\s-]*contrast\b", " more contrast "),
    (r"\blow[\s-]*contrast\b", " less contrast "),
    (r"\bwhite[\s-]*balance\b", " whitebalance "),
    (r"\bblack[\s-]*point\b", " blacks "),
    (r"\bwhite[\s-]*point\b", " whites "),
    (r"\bmid[\s-]*tones?\b|\bmids\b", " midtones "),
    (r"\bskin[\s-]*tones?\b", " skin "),
    (r"\bwashed[\s-]*out\b", " washed "),
    (r"\bover[\s-]*exposed\b", " overexposed "),
    (r"\bunder[\s-]*exposed\b", " underexposed "),
    (r"\bcool(ing)? (it |this |things |the \w+ )?down\b", " cooler "),
    (r"\bwarm(ing)? (it |this |things |the \w+ )?up\b", " warmer "),
    (r"\bheat (it |this )?up\b", " warmer "),
    (r"\b(brighten|lighten) (it |this |things |the \w+ )?up\b", " brighten "),
    (r"\b(open|opening) (it |them )?up\b", " lift "),
    (r"\bbring (out|up)\b", " lift "),
    (
        r"\b(tone|dial|pull|bring|turn|knock|take|ease|back|scale|rein) "
        r"(it |this |them |that |things )?(down|back|off|in)\b",
        " reduce ",
    ),
    (r"\b(crank|pump|turn|dial|bump|ramp|jack|kick|punch) (it |this |them |that |things )?up\b", " increase "),
    (r"\bnot (so|as|that|too|quite so)\b", " less "),
    (r"\b(over|overly|excessively|way too|far too|much too)\b", " too "),
    (r"\bcan'?t\b|\bcannot\b", " not "),
    (r"\b(don'?t|do not|doesn'?t|isn'?t|is not|never|avoid|without)\b", " not "),
    (r"\bless and less\b", " less "),
    (r"\bmore and more\b", " more "),
    (r"\bpop\b", " poppy "),
    (r"\b(sun|golden)[\s-]*(kissed|hour|glow)\b", " golden "),
)

ADJECTIVES: dict[str, tuple[str, int]] = {}
for _attribute, _words in (
    (("brightness", +1), "bright brighter brightest brighten brightened brightening lighter lighten lightened luminous "
                         "airy airier underexposed"),
    (("brightness", -1), "dark darker darkest darken darkened dim dimmer dimmed murky overexposed moodier gloomier "
                         "gloomy"),
    (("contrast", +1), "contrasty punchy punchier punch harsh harsher"),
    (("contrast", -1), "flat flatter soft softer gentler"),
    (("saturation", +1), "saturated saturate vivid vivider vibrant colorful poppy popping intense saturating"),
    (("saturation", -1), "desaturated desaturate muted mute duller dull subdued washed pale paler bland drab "
                         "desaturating"),
    (("warmth", +1), "warm warmer warmest warmth golden toasty"),
    (("warmth", -1), "cool cooler coolest cold colder icy icier chilly chillier frosty wintry wintery frigid"),
    (("monochrome", +1), "monochrome grayscale mono monochromatic noir achromatic"),
    (("sepia", +1), "sepia sepiatone"),
    (("fade", +1), "faded fade matte"),
    (("split_tone", +1), "splittone tealorange"),
):
    for _word in _words.split():
        ADJECTIVES[_word] = _attribute

NOUNS = {"brightness": "brightness", "exposure": "brightness", "light": "brightness", "lightness": "brightness",
          "luminosity": "brightness", "luminance": "brightness", "contrast": "contrast", "saturation": "saturation",
          "color": "saturation", "colors": "saturation", "vibrance": "vibrance", "vibrancy": "vibrance",
          "warmth": "warmth", "temperature": "warmth", "whitebalance": "warmth", "tint": "tint", "fading": "fade",
          "hue": "hue", "hues": "hue"}
ZONES = {"shadows": "shadows", "shadow": "shadows", "darks": "shadows", "highlights": "highlights",
          "highlight": "highlights", "midtones": "midtones", "whites": "whites", "blacks": "blacks"}
BAND_WORDS = {
    "reds": ("Red",), "oranges": ("Orange",), "yellows": ("Yellow",), "greens": ("Green",), "aquas": ("Aqua",),
    "cyans": ("Aqua",), "teals": ("Aqua",), "blues": ("Blue",), "purples": ("Purple",), "violets": ("Purple",),
    "magentas": ("Magenta",), "pinks": ("Magenta",),
    "sky": ("Blue", "Aqua"), "skies": ("Blue", "Aqua"), "sea": ("Blue", "Aqua"), "ocean": ("Blue", "Aqua"),
    "water": ("Blue", "Aqua"), "lake": ("Blue", "Aqua"),
    "foliage": ("Green", "Yellow"), "leaves": ("Green", "Yellow"), "trees": ("Green", "Yellow"),
    "grass": ("Green", "Yellow"), "plants": ("Green", "Yellow"), "greenery": ("Green", "Yellow"),
    "vegetation": ("Green", "Yellow"), "forest": ("Green", "Yellow"), "lawn": ("Green", "Yellow"),
    "skin": ("Orange",), "face": ("Orange",), "faces": ("Orange",), "complexion": ("Orange",),
    "sunset": ("Orange", "Red"), "flowers": ("Red", "Magenta"), "lips": ("Red",),
}
COLOR_WORDS = {  # colour adjective -> (band, Lightroom colour-grading hue)
    "red": ("Red", 0), "redder": ("Red", 0), "orange": ("Orange", 30), "oranger": ("Orange", 30),
    "yellow": ("Yellow", 55), "yellower": ("Yellow", 55), "green": ("Green", 120), "greener": ("Green", 120),
    "teal": ("Aqua", 190), "cyan": ("Aqua", 185), "aqua": ("Aqua", 185), "blue": ("Blue", 220), "bluer": ("Blue", 220),
    "purple": ("Purple", 275), "purpler": ("Purple", 275), "violet": ("Purple", 270), "magenta": ("Magenta", 310),
    "pink": ("Magenta", 330), "pinker": ("Magenta", 330), "rosy": ("Magenta", 340), "rosier": ("Magenta", 340),
    "golden": ("Yellow", 45), "amber": ("Orange", 40), "brown": ("Orange", 35), "gold": ("Yellow", 45),
}
INCREASE_WORDS = set(
    "more increase increased increasing boost boosted boosting add added adding raise raised raising up extra "
    "enhance enhanced amplify amplified pump pumped push pushed intensify intensified heighten stronger higher "
    "strengthen bump crank lift lifted lifting open opened emphasise emphasize accentuate maximise maximize "
    "bigger plus greater".split())
DECREASE_WORDS = set(
    "less reduce reduced reducing lower lowered lowering decrease decreased decreasing remove removed removing "
    "kill cut tame tamed drop dropped weaker weaken soften softened fewer minus subtract diminish minimise "
    "minimize dampen dampened calm lessen lose fix correct neutralise neutralize down out".split()
)
DEEP_WORDS = set("deep deeper deepen deepened rich richer crush crushed inky denser dense".split())
"""Darker for tones ("deeper blacks"), more saturated for colours ("deeper blues")."""
RECOVER_WORDS = {"recover", "rescue", "restore", "save"}
"""Bring back detail: highlights down, shadows up."""
EXCESS_WORDS = {"too"}
COMPLAINT = re.compile(r"\b(looks?|is|are|feels?|seems?|appears?|it'?s)\s+(a bit |a little |rather |quite |very |"
                        r"kind of |pretty |really )?(flat|dark|bright|dull|cold|warm|soft|harsh|muted|pale|washed|"
                        r"gloomy|murky|dim|saturated|contrasty|faded|cool|yellow|blue|green|orange|magenta|pink)\b")
"""A complaint about a state ("it looks flat", "the photo is dark") asks for the opposite, like "too"."""
NEGATIONS = {"not", "no", "nor"}
STATE_FLIP = {"overexposed", "underexposed"}
"""Problem words whose adjective already carries the fix (in `ADJECTIVES`), so "too" adds nothing."""

REPLACEMENT = (r"\b(replace|swap|change|switch|add|put|insert|place)\b[^,;.!?]*\b(with|for)\b[^,;.!?]*")
""""replace the sky with a sunset" is one request: its "with" must not start a clause of its own."""
CLAUSE_SPLIT = re.compile(r"[,;.!?]|\b(?:and|but|with|while|plus|then|also|though|yet)\b|&")

OUT_OF_SCOPE: tuple[tuple[str, str], ...] = (
    (r"\b(replace|swap|change|switch)\b.*\b(sky|skies|background|backdrop|clouds?)\b|\bsky replacement\b|"
     r"\bnew sky\b|\badd (some |a few |more )?clouds\b", "replacing the sky or background"),
    (r"\b(blur|blurr?ed|blurry|bokeh|depth of field|defocus|out of focus|soft[\s-]*focus|gaussian)\b", "blurring"),
    (r"\b(sharpen\w*|sharper|sharpness|unsharp|deblur\w*|in focus|focus)\b", "sharpening"),
    (r"\b(clarity|texture|dehaze|haze removal|remove (the )?haze|structure|micro[\s-]*contrast|local contrast)\b",
     "clarity, texture and dehaze (local contrast)"),
    (r"\b(crop\w*|straighten\w*|rotate\w*|rotation|flip|mirror|level the horizon|horizon|aspect ratio|square|"
     r"resize\w*|upscale\w*|enlarge\w*|zoom\w*|perspective|keystone|distortion|reframe|recompose\w*)\b",
     "cropping, rotating, resizing or other geometry"),
    (r"\b(noise|denoise\w*|grain|grainy|grainier)\b", "noise reduction and film grain"),
    (r"\bvignett\w*\b", "vignetting"),
    (r"\b(teeth|wrinkles?|blemish\w*|pimples?|acne|freckles?|smooth(er)? (the )?skin|skin smoothing|slim\w*|"
     r"thinner|bigger eyes|red[\s-]*eye|makeup|make-up|eye bags|airbrush\w*)\b", "retouching faces and bodies"),
    (r"\b(watermark|logo|text|caption|frame|border|sticker|signature|emoji)\b", "adding or removing text and graphics"),
    (r"\b(remove|erase|delete|get rid of|take out|edit out|clean up|photoshop out|cut out)\b.*\b(person|people|"
     r"man|woman|tourists?|photobomb\w*|objects?|things?|cars?|wires?|lines|poles?|trash|litter|dust|spots?|"
     r"birds?|dog|cat|animals?|buildings?|signs?|reflections?|glare|shadow of|him|her|them|it from)\b",
     "removing objects"),
    (r"\b(add|insert|put|place)\b.*\b(person|people|sun|moon|stars|rainbow|birds?|snow|rain|fog|mist|lens flare|"
     r"flare|light leaks?|objects?)\b", "adding objects or effects"),
    (r"\b(animate|video|gif|cartoon\w*|anime|painting|sketch|watercolou?r|oil paint\w*|pixel art|"
     r"3d|render)\b(?! (film|grade|look|stock|color))", "turning the photo into another medium"),
    (r"\b(expand|extend|outpaint\w*|uncrop\w*|fill in|inpaint\w*|restore (the )?(old|torn|damaged)|scratch\w*|"
     r"colori[sz]e\w*)\b", "generating or restoring image content"),
)
"""(pattern, what it asks for): requests outside tone and colour. A clause matching one is skipped."""

SUPPORTED = ("veraretouch changes tone and colour only: brightness, contrast, highlights, shadows, white balance, "
             "saturation, colour bands, black and white, toning, and named looks")
