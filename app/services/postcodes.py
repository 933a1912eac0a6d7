"""Belgian postcode → municipality, to fill in the city of an address from its postcode.

The table holds the postal municipality name (as bpost prints it on an address) for all of
West-Vlaanderen's postcodes and the larger towns and cities elsewhere in Flanders and
Brussels. A postcode that is not in the table is still a valid postcode: the city is then
left as the resident typed it.
"""

import re

_POSTCODE_RE = re.compile(r"^[1-9]\d{3}$")

MUNICIPALITY_BY_POSTCODE: dict[str, str] = {
    # Brussels
    "1000": "Brussel", "1020": "Brussel", "1030": "Schaarbeek", "1040": "Etterbeek",
    "1050": "Elsene", "1060": "Sint-Gillis", "1070": "Anderlecht", "1080": "Sint-Jans-Molenbeek",
    "1081": "Koekelberg", "1082": "Sint-Agatha-Berchem", "1083": "Ganshoren", "1090": "Jette",
    "1120": "Brussel", "1130": "Brussel", "1140": "Evere", "1150": "Sint-Pieters-Woluwe",
    "1160": "Oudergem", "1170": "Watermaal-Bosvoorde", "1180": "Ukkel", "1190": "Vorst",
    "1200": "Sint-Lambrechts-Woluwe", "1210": "Sint-Joost-ten-Node",
    # Vlaams-Brabant
    "1500": "Halle", "1700": "Dilbeek", "1800": "Vilvoorde", "1930": "Zaventem",
    "3000": "Leuven", "3001": "Leuven", "3010": "Leuven", "3012": "Leuven", "3018": "Leuven",
    "3200": "Aarschot", "3290": "Diest", "3300": "Tienen",
    # Antwerpen
    "2000": "Antwerpen", "2018": "Antwerpen", "2020": "Antwerpen", "2030": "Antwerpen",
    "2040": "Antwerpen", "2050": "Antwerpen", "2060": "Antwerpen", "2100": "Deurne",
    "2140": "Borgerhout", "2170": "Merksem", "2180": "Ekeren", "2200": "Herentals",
    "2300": "Turnhout", "2400": "Mol", "2440": "Geel", "2500": "Lier", "2600": "Berchem",
    "2610": "Wilrijk", "2640": "Mortsel", "2650": "Edegem", "2660": "Hoboken",
    "2800": "Mechelen", "2900": "Schoten",
    # Limburg
    "3500": "Hasselt", "3580": "Beringen", "3600": "Genk", "3700": "Tongeren",
    "3800": "Sint-Truiden",
    # Oost-Vlaanderen
    "9000": "Gent", "9030": "Mariakerke", "9031": "Drongen", "9032": "Wondelgem",
    "9040": "Sint-Amandsberg", "9041": "Oostakker", "9050": "Gentbrugge",
    "9051": "Sint-Denijs-Westrem", "9052": "Zwijnaarde", "9100": "Sint-Niklaas",
    "9160": "Lokeren", "9200": "Dendermonde", "9300": "Aalst", "9400": "Ninove",
    "9500": "Geraardsbergen", "9600": "Ronse", "9700": "Oudenaarde", "9800": "Deinze",
    "9900": "Eeklo",
    # West-Vlaanderen
    "8000": "Brugge", "8020": "Oostkamp", "8200": "Brugge", "8210": "Zedelgem",
    "8211": "Zedelgem", "8300": "Knokke-Heist", "8301": "Knokke-Heist", "8310": "Brugge",
    "8340": "Damme", "8370": "Blankenberge", "8377": "Zuienkerke", "8380": "Brugge",
    "8400": "Oostende", "8420": "De Haan", "8421": "De Haan", "8430": "Middelkerke",
    "8431": "Middelkerke", "8432": "Middelkerke", "8433": "Middelkerke", "8434": "Middelkerke",
    "8450": "Bredene", "8460": "Oudenburg", "8470": "Gistel", "8480": "Ichtegem",
    "8490": "Jabbeke", "8500": "Kortrijk", "8501": "Kortrijk", "8510": "Kortrijk",
    "8511": "Kortrijk", "8520": "Kuurne", "8530": "Harelbeke", "8531": "Harelbeke",
    "8540": "Deerlijk", "8550": "Zwevegem", "8551": "Zwevegem", "8552": "Zwevegem",
    "8553": "Zwevegem", "8554": "Zwevegem", "8560": "Wevelgem", "8570": "Anzegem",
    "8572": "Anzegem", "8573": "Anzegem", "8580": "Avelgem", "8581": "Avelgem",
    "8582": "Avelgem", "8583": "Avelgem", "8587": "Spiere-Helkijn", "8600": "Diksmuide",
    "8610": "Kortemark", "8620": "Nieuwpoort", "8630": "Veurne", "8640": "Vleteren",
    "8647": "Lo-Reninge", "8650": "Houthulst", "8660": "De Panne", "8670": "Koksijde",
    "8680": "Koekelare", "8690": "Alveringem", "8691": "Alveringem", "8700": "Tielt",
    "8710": "Wielsbeke", "8720": "Dentergem", "8730": "Beernem", "8740": "Pittem",
    "8750": "Wingene", "8755": "Ruiselede", "8760": "Meulebeke", "8770": "Ingelmunster",
    "8780": "Oostrozebeke", "8790": "Waregem", "8791": "Waregem", "8792": "Waregem",
    "8793": "Waregem", "8800": "Roeselare", "8810": "Lichtervelde", "8820": "Torhout",
    "8830": "Hooglede", "8840": "Staden", "8850": "Ardooie", "8851": "Ardooie",
    "8860": "Lendelede", "8870": "Izegem", "8880": "Ledegem", "8890": "Moorslede",
    "8900": "Ieper", "8902": "Ieper", "8904": "Ieper", "8906": "Ieper", "8908": "Ieper",
    "8920": "Langemark-Poelkapelle", "8930": "Menen", "8940": "Wervik", "8950": "Heuvelland",
    "8951": "Heuvelland", "8952": "Heuvelland", "8953": "Heuvelland", "8954": "Heuvelland",
    "8956": "Heuvelland", "8957": "Mesen", "8958": "Heuvelland", "8970": "Poperinge",
    "8972": "Poperinge", "8978": "Poperinge", "8980": "Zonnebeke",
}


def normalise_postcode(raw: str) -> str:
    """`B-8400`, ` 8400 ` and `BE 8400` all become `8400`."""
    cleaned = re.sub(r"\s", "", raw or "").upper()
    for prefix in ("BE-", "BE", "B-"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix):]
            break
    return cleaned


def is_belgian_postcode(postcode: str) -> bool:
    return bool(_POSTCODE_RE.match(postcode))


def municipality_for(postcode: str) -> str | None:
    """The municipality of a postcode, or None when the table does not know it."""
    return MUNICIPALITY_BY_POSTCODE.get(normalise_postcode(postcode))
