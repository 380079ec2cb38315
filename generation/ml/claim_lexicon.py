"""The word lists and unit tables that generation.ml.grounding reads claims with.

grounding.py holds the matching and checking logic; this module holds only data, so a list can be
extended (a material, a certification, a unit surface, an excluded Chinese word) without reading
the regexes, and the logic can be read without scrolling past several hundred lines of words. No
imports beyond the standard library, no Django; grounding.py compiles its regexes from these
tables once, at import.

The lists are written by hand for product copy in English and Chinese; nothing generates them.
What they hold, and what was left out on purpose:
- Concept tables (materials, certifications, technologies): each concept with its parent concepts
  and its surfaces in both languages. A surface may name only one concept: grounding.py raises at
  import if two concepts share one.
- The only single Chinese characters listed as surfaces are 木 竹 棉 钢 铝 钛, and EXCLUSIONS
  lists the common words that contain them without meaning the material (木星, 钢琴). 丝, 金, 银,
  铜 and 铁 alone are left out (螺丝, 金属, 银色, 地铁); only compounds such as 真丝, 黄金, 纯银, 黄铜,
  铸铁 are listed. Likewise "down" and "iron" appear only in compounds (goose down, cast iron).
- Units: UNIT_SCALE lists only the exact metric conversions; imperial units (lb, oz, inch, ft)
  compare by the number as written, since 1 kg is not exactly 2.2 lb.
- Word sets for the attributes' side: yes/no values, and the stop words that do not count when
  deciding whether the copy uses an attribute.
"""

from __future__ import annotations

from decimal import Decimal

# --- Concepts ---------------------------------------------------------------------------------
# (concept, parent concepts, surfaces). A source that states a concept also backs its parents
# ("stainless steel" backs "steel"). Latin surfaces match whole words, case-insensitively, with
# any run of spaces/hyphens between words ("Wi-Fi" == "WiFi"); a leading "=" makes a surface
# case-sensitive in copy (CE, UL, ABS). Surfaces with Chinese characters match as substrings.
ConceptTable = tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]

MATERIALS: ConceptTable = (
    ("leather", (), ("leather", "皮革", "皮质")),
    ("genuine leather", ("leather",), ("genuine leather", "real leather", "真皮")),
    ("full-grain leather", ("genuine leather",), ("full-grain leather", "全粒面皮")),
    ("top-grain leather", ("genuine leather",), ("top-grain leather", "头层皮", "头层牛皮")),
    ("cowhide", ("genuine leather",), ("cowhide", "cow leather", "牛皮")),
    ("sheepskin", ("genuine leather",), ("sheepskin", "lambskin", "羊皮")),
    (
        "faux leather",
        (),
        (
            "faux leather", "vegan leather", "synthetic leather", "imitation leather",
            "leatherette", "PU leather", "PU皮", "PU皮革", "人造革", "人造皮革", "仿皮", "超纤皮",
        ),
    ),
    ("polyurethane", (), ("polyurethane", "=PU", "聚氨酯")),
    ("suede", (), ("suede", "麂皮", "翻毛皮")),
    ("nubuck", (), ("nubuck", "磨砂皮")),
    ("cotton", (), ("cotton", "棉", "棉质", "棉布")),
    ("pure cotton", ("cotton",), ("pure cotton", "纯棉", "全棉")),
    ("organic cotton", ("cotton", "organic"), ("organic cotton", "有机棉")),
    ("cotton linen", ("cotton", "linen"), ("棉麻",)),
    ("linen", (), ("linen", "flax", "亚麻", "麻料")),
    ("hemp", (), ("hemp", "汉麻")),
    ("jute", (), ("jute", "黄麻")),
    ("polyester", (), ("polyester", "涤纶", "聚酯纤维")),
    ("nylon", (), ("nylon", "polyamide", "尼龙", "锦纶")),
    ("spandex", (), ("spandex", "elastane", "lycra", "氨纶", "莱卡")),
    ("acrylic", (), ("acrylic", "亚克力", "腈纶", "有机玻璃")),
    ("viscose", (), ("viscose", "rayon", "粘胶", "人造丝")),
    ("modal", (), ("莫代尔",)),
    ("lyocell", (), ("lyocell", "tencel", "天丝")),
    ("wool", (), ("wool", "羊毛", "毛料")),
    ("merino wool", ("wool",), ("merino wool", "merino", "美利奴羊毛", "美利奴")),
    ("cashmere", (), ("cashmere", "羊绒", "山羊绒")),
    ("alpaca", (), ("alpaca", "羊驼毛")),
    ("mohair", (), ("mohair", "马海毛")),
    ("silk", (), ("silk", "真丝", "蚕丝", "丝绸")),
    ("mulberry silk", ("silk",), ("mulberry silk", "桑蚕丝")),
    ("fleece", (), ("fleece", "抓绒", "摇粒绒")),
    ("velvet", (), ("velvet", "丝绒", "天鹅绒")),
    ("satin", (), ("satin", "缎面")),
    ("denim", (), ("denim", "牛仔布")),
    ("canvas", (), ("canvas", "帆布")),
    ("mesh", (), ("mesh", "网面", "网布", "网眼布")),
    ("down", (), ("down filling", "down-filled", "down fill", "羽绒")),
    ("goose down", ("down",), ("goose down", "鹅绒", "白鹅绒")),
    ("duck down", ("down",), ("duck down", "鸭绒", "白鸭绒")),
    ("memory foam", (), ("memory foam", "记忆棉", "记忆海绵")),
    ("latex", (), ("latex", "乳胶")),
    ("rubber", (), ("rubber", "橡胶")),
    ("silicone", (), ("silicone", "硅胶", "有机硅")),
    ("plastic", (), ("plastic", "plastics", "塑料", "塑胶")),
    ("abs", ("plastic",), ("=ABS", "ABS塑料")),
    ("polypropylene", ("plastic",), ("polypropylene", "=PP", "聚丙烯")),
    ("polycarbonate", ("plastic",), ("polycarbonate", "聚碳酸酯")),
    ("pvc", ("plastic",), ("=PVC", "聚氯乙烯")),
    ("tpu", ("plastic",), ("=TPU",)),
    ("tritan", ("plastic",), ("tritan",)),
    ("eva", (), ("=EVA",)),
    ("aluminium", (), ("aluminium", "aluminum", "铝")),
    ("aluminium alloy", ("aluminium",), ("aluminium alloy", "aluminum alloy", "铝合金")),
    ("steel", (), ("steel", "钢", "钢材", "钢制")),
    ("stainless steel", ("steel",), ("stainless steel", "不锈钢")),
    ("carbon steel", ("steel",), ("carbon steel", "碳钢")),
    ("titanium", (), ("titanium", "钛")),
    ("titanium alloy", ("titanium",), ("titanium alloy", "钛合金")),
    ("zinc alloy", (), ("zinc alloy", "锌合金")),
    ("magnesium alloy", (), ("magnesium alloy", "镁合金")),
    ("cast iron", (), ("cast iron", "铸铁")),
    ("wrought iron", (), ("wrought iron", "锻铁")),
    ("copper", (), ("copper", "纯铜", "紫铜", "铜质")),
    ("brass", (), ("brass", "黄铜")),
    ("bronze", (), ("bronze", "青铜")),
    ("gold", (), ("gold", "solid gold", "黄金", "纯金", "足金")),
    ("silver", (), ("silver", "纯银", "足银", "银质")),
    ("sterling silver", ("silver",), ("sterling silver", "925银")),
    ("platinum", (), ("platinum", "铂金")),
    ("carbon fibre", (), ("carbon fibre", "carbon fiber", "碳纤维")),
    ("glass", (), ("glass", "玻璃")),
    ("tempered glass", ("glass",), ("tempered glass", "toughened glass", "钢化玻璃")),
    ("borosilicate glass", ("glass",), ("borosilicate glass", "borosilicate", "高硼硅玻璃", "高硼硅")),
    ("ceramic", (), ("ceramic", "ceramics", "陶瓷")),
    ("porcelain", ("ceramic",), ("porcelain", "瓷器", "白瓷")),
    ("bone china", ("porcelain",), ("bone china", "骨瓷")),
    ("stoneware", ("ceramic",), ("stoneware", "炻瓷")),
    ("wood", (), ("wood", "wooden", "木", "木质", "木制", "原木")),
    ("solid wood", ("wood",), ("solid wood", "实木")),
    ("oak", ("wood",), ("oak", "橡木")),
    ("walnut", ("wood",), ("walnut", "胡桃木")),
    ("beech", ("wood",), ("beech", "榉木")),
    ("pine", ("wood",), ("pine", "松木")),
    ("teak", ("wood",), ("teak", "柚木")),
    ("acacia", ("wood",), ("acacia", "相思木")),
    ("rosewood", ("wood",), ("rosewood", "红木", "花梨木")),
    ("bamboo", (), ("bamboo", "竹", "竹制", "竹子")),
    ("bamboo fibre", ("bamboo",), ("bamboo fibre", "bamboo fiber", "竹纤维")),
    ("cork", (), ("cork", "软木")),
    ("rattan", (), ("rattan", "藤编")),
    ("marble", (), ("marble", "大理石")),
    ("granite", (), ("granite", "花岗岩")),
)

CERTIFICATIONS: ConceptTable = (
    ("ce", (), ("=CE", "CE认证")),
    ("fcc", (), ("=FCC",)),
    ("rohs", (), ("RoHS",)),
    ("ul", (), ("=UL",)),
    ("etl", (), ("=ETL",)),
    ("fda", (), ("=FDA",)),
    ("ccc", (), ("=CCC", "=3C", "3C认证", "CCC认证", "中国强制性产品认证", "强制性产品认证")),
    ("fsc", (), ("=FSC",)),
    ("gots", ("organic",), ("=GOTS",)),
    ("oeko-tex", (), ("OEKO-TEX",)),
    ("energy star", (), ("Energy Star", "能源之星")),
    ("usda organic", ("organic",), ("USDA Organic",)),
    ("organic", (), ("organic", "certified organic", "有机", "有机认证")),
    ("bpa free", (), ("BPA-free", "BPA free", "无BPA", "不含BPA", "无双酚A", "不含双酚A")),
    ("food grade", (), ("food-grade", "food safe", "食品级")),
    ("medical grade", (), ("medical-grade", "医用级", "医疗级")),
    ("dermatologically tested", (), ("dermatologically tested", "dermatologist tested", "皮肤科测试")),
    ("hypoallergenic", (), ("hypoallergenic", "低敏")),
    ("cruelty free", (), ("cruelty-free", "Leaping Bunny", "零残忍")),
    ("vegan", (), ("vegan", "纯素")),
    ("fairtrade", (), ("Fairtrade", "Fair Trade")),
    ("non-gmo", (), ("non-GMO", "GMO-free", "非转基因")),
    ("gluten free", (), ("gluten-free", "无麸质")),
    ("halal", (), ("halal", "清真")),
    ("kosher", (), ("kosher",)),
    ("bluesign", (), ("bluesign",)),
    ("tuv", (), ("TÜV", "TUV")),
    ("sgs", (), ("=SGS",)),
    ("bsci", (), ("=BSCI",)),
    ("lfgb", (), ("=LFGB",)),
    ("ukca", (), ("=UKCA",)),
    ("pse", (), ("=PSE",)),
    ("reach", (), ("=REACH",)),
    ("weee", (), ("=WEEE",)),
    ("mfi", (), ("=MFi",)),
    ("green food", (), ("绿色食品",)),
    ("national standard", (), ("国家标准", "国标")),
)

TECHNOLOGIES: ConceptTable = (
    ("bluetooth", ("wireless",), ("Bluetooth", "蓝牙")),
    ("wifi", ("wireless",), ("Wi-Fi", "=WLAN", "无线网络", "无线局域网")),
    ("wireless", (), ("wireless", "cordless", "无线")),
    ("nfc", (), ("=NFC",)),
    ("usb-c", ("usb",), ("USB-C", "USB Type-C", "Type-C", "=USB C")),
    ("usb", (), ("=USB",)),
    ("lightning", (), ("闪电接口",)),  # the English word is matched by grounding._CODE_RE, before a noun
    ("qi", ("wireless charging",), ("=Qi",)),
    ("magsafe", ("wireless charging",), ("MagSafe",)),
    ("wireless charging", (), ("wireless charging", "wireless charger", "无线充电", "无线充")),
    (
        "fast charging",
        (),
        (
            "fast charging", "fast charge", "quick charge", "quick charging", "rapid charging",
            "快充", "闪充", "快速充电", "超级快充",
        ),
    ),
    ("power delivery", ("fast charging",), ("Power Delivery", "=PD")),
    ("oled", (), ("OLED",)),
    ("amoled", ("oled",), ("AMOLED", "Super AMOLED")),
    ("lcd", (), ("=LCD",)),
    ("ips", (), ("=IPS",)),
    ("led", (), ("=LED",)),
    ("mini-led", ("led",), ("Mini-LED",)),
    ("e-ink", (), ("E Ink", "墨水屏")),
    ("retina", (), ("Retina", "Liquid Retina", "Super Retina")),
    ("dolby", (), ("Dolby", "杜比")),
    ("dolby atmos", ("dolby",), ("Dolby Atmos", "杜比全景声")),
    ("dolby vision", ("dolby", "hdr"), ("Dolby Vision", "杜比视界")),
    ("hdr", (), ("=HDR",)),
    ("hdr10", ("hdr",), ("=HDR10",)),
    ("hdr10+", ("hdr10",), ("=HDR10+",)),
    (
        "anc",
        (),
        (
            "active noise cancelling", "active noise canceling", "active noise cancellation",
            "noise cancelling", "noise canceling", "noise cancellation", "=ANC", "主动降噪", "降噪",
        ),
    ),
    ("spatial audio", (), ("spatial audio", "空间音频")),
    ("hi-res audio", (), ("Hi-Res Audio", "Hi-Res")),
    ("ldac", (), ("=LDAC",)),
    ("aptx", (), ("aptX", "aptX HD", "aptX Adaptive")),
    ("gps", (), ("=GPS", "GPS定位", "全球定位")),
    ("beidou", (), ("BeiDou", "北斗")),
    ("5g", (), ("5G",)),
    ("4g", (), ("4G", "4G LTE")),
    ("lte", (), ("=LTE",)),
    ("gore-tex", ("waterproof",), ("Gore-Tex",)),
    ("thunderbolt", (), ("Thunderbolt",)),
    ("hdmi", (), ("=HDMI",)),
    ("displayport", (), ("DisplayPort",)),
    ("ethernet", (), ("Ethernet",)),
    ("android", (), ("Android", "安卓")),
    ("android auto", (), ("Android Auto",)),
    ("ios", (), ("=iOS",)),
    ("macos", (), ("macOS",)),
    ("windows", (), ("=Windows",)),
    ("harmonyos", (), ("HarmonyOS", "鸿蒙")),
    ("carplay", (), ("CarPlay", "Apple CarPlay")),
    ("alexa", (), ("=Alexa",)),
    ("google assistant", (), ("Google Assistant",)),
    ("siri", (), ("=Siri",)),
    ("homekit", (), ("HomeKit",)),
    ("zigbee", (), ("Zigbee",)),
    ("touch id", (), ("Touch ID",)),
    ("face id", (), ("Face ID", "面容ID")),
    (
        "fingerprint",
        (),
        ("fingerprint sensor", "fingerprint reader", "fingerprint unlock", "指纹识别", "指纹解锁"),
    ),
    ("face recognition", (), ("face recognition", "facial recognition", "人脸识别", "面部识别")),
    (
        "waterproof",
        ("sweat resistant",),
        (
            "waterproof", "water-proof", "water-resistant", "water repellent", "splash-proof",
            "splashproof", "splash-resistant", "防水", "防泼水",
        ),
    ),
    ("sweat resistant", (), ("sweatproof", "sweat-proof", "sweat-resistant", "防汗")),
    ("dustproof", (), ("dustproof", "dust-proof", "dust-resistant", "防尘")),
    (
        "shockproof",
        (),
        ("shockproof", "shock-proof", "shock-resistant", "drop-proof", "防摔", "防震", "抗摔"),
    ),
    ("dishwasher safe", (), ("dishwasher safe", "可洗碗机清洗", "可用洗碗机", "洗碗机适用")),
    ("microwave safe", (), ("microwave safe", "可微波炉", "微波炉适用", "微波炉可用")),
    ("oven safe", (), ("oven safe", "可进烤箱")),
    ("induction compatible", (), ("induction compatible", "induction ready", "电磁炉适用", "电磁炉通用")),
    ("non-stick", (), ("non-stick", "不粘")),
    ("touchscreen", (), ("touchscreen", "触摸屏", "触屏")),
    ("voice control", (), ("voice control", "语音控制")),
    ("dual sim", (), ("dual SIM", "双卡双待")),
    ("esim", (), ("eSIM",)),
    ("airplay", (), ("AirPlay",)),
    ("chromecast", (), ("Chromecast",)),
)

# Concepts that codes imply without naming them: an IP rating with a water digit of 4 or more
# ("ipx") backs waterproof, a dust digit of 5 or more ("ip_dust") dustproof, a GB standard "国标".
CODE_PARENTS: dict[str, tuple[str, ...]] = {
    "ipx": ("waterproof",),
    "ip_dust": ("dustproof",),
    "gb": ("national standard",),
}

# Technologies whose version is part of the claim: "Bluetooth 5.3" needs 5.3 in the sources.
VERSIONED = frozenset(
    {"bluetooth", "wifi", "usb", "thunderbolt", "hdmi", "android", "ios", "windows", "harmonyos"}
)

# Words that contain a lexicon surface without making that claim (木星 is Jupiter, 钢琴 a piano).
EXCLUSIONS: dict[str, tuple[str, ...]] = {
    "木": ("木星", "麻木", "木讷", "木马", "木耳", "积木", "木瓜", "木糖醇", "树木", "草木"),
    "竹": ("爆竹", "竹笋", "竹荪"),
    "棉": ("棉花糖",),
    "钢": ("钢琴", "钢笔", "钢化", "钢铁侠"),
    "有机": ("有机会", "有机物", "有机体"),
}

# Chinese characters: CJK Extension A, CJK Unified Ideographs, CJK Compatibility Ideographs.
CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# Full-width ASCII (５０００ｍＡｈ) folds to ASCII one character for one, so offsets stay valid.
FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# --- Codes ------------------------------------------------------------------------------------
# Chinese energy grades: 一级能效 == 1级能效.
GRADE_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5"}

# --- Numbers ----------------------------------------------------------------------------------
# canonical unit: surfaces. Latin surfaces are case-insensitive except those marked "=".
UNITS: dict[str, tuple[str, ...]] = {
    "mAh": ("mAh", "毫安时", "毫安"),
    "Ah": ("Ah",),
    "Wh": ("Wh",),
    "h": ("hours", "hour", "hrs", "hr", "h", "小时", "个小时"),
    "min": ("minutes", "minute", "mins", "min", "分钟"),
    "s": ("seconds", "second", "secs", "sec", "秒"),
    "days": ("days", "day", "天"),
    "weeks": ("weeks", "week", "周"),
    "months": ("months", "month", "个月"),
    "years": ("years", "year", "yrs", "年"),
    "mg": ("mg", "毫克"),
    "g": ("grams", "gram", "=g", "克"),
    "kg": ("kilograms", "kilogram", "kgs", "kg", "千克", "公斤"),
    "jin": ("斤",),
    "lb": ("pounds", "pound", "lbs", "lb", "磅"),
    "oz": ("ounces", "ounce", "oz", "盎司"),
    "ml": ("millilitres", "milliliters", "millilitre", "milliliter", "ml", "毫升"),
    "l": ("litres", "liters", "litre", "liter", "l", "升"),
    "mm": ("millimetres", "millimeters", "millimetre", "millimeter", "mm", "毫米"),
    "cm": ("centimetres", "centimeters", "centimetre", "centimeter", "cm", "厘米", "公分"),
    "m": ("metres", "meters", "metre", "meter", "m", "米"),
    "km": ("kilometres", "kilometers", "kilometre", "kilometer", "km", "公里", "千米"),
    "inch": ("inches", "inch", '"', "″", "英寸", "寸"),
    "ft": ("feet", "foot", "ft"),
    "W": ("watts", "watt", "W", "瓦特", "瓦"),
    "kW": ("kW", "千瓦"),
    "V": ("volts", "volt", "V", "伏特", "伏"),
    "MB": ("MB",),
    "GB": ("GB", "=G"),
    "TB": ("TB", "=T"),
    "Mbps": ("Mbps",),
    "Gbps": ("Gbps",),
    "Hz": ("Hz", "赫兹"),
    "kHz": ("kHz",),
    "MHz": ("MHz",),
    "GHz": ("GHz",),
    "%": ("%", "percent", "per cent"),
    "°C": ("°C", "℃", "摄氏度"),
    "°F": ("°F", "℉", "华氏度"),
    "°": ("°", "degrees", "degree", "度"),
    "dB": ("dB", "分贝"),
    "MP": ("MP", "megapixels", "megapixel"),
    "fps": ("fps",),
    "rpm": ("rpm",),
    "nits": ("nits", "nit", "尼特"),
    "pcs": ("pieces", "piece", "pcs", "pc", "pack", "件", "个", "只", "片", "包", "套", "支", "张", "条"),
    "pairs": ("pairs", "pair", "双", "对"),
    "USD": ("USD", "dollars", "dollar", "美元"),
    "EUR": ("EUR", "euros", "euro", "欧元"),
    "GBP": ("GBP", "英镑"),
    "CNY": ("RMB", "CNY", "yuan", "元", "人民币"),
    "x": ("x", "×", "倍"),
}
CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY"}
ATTACHED_ONLY_UNITS = frozenset({"x"})  # "2x" is a multiplier; "30 x 20 cm" is not
# Units that convert exactly: family and size of one unit in the family's base.
UNIT_SCALE: dict[str, tuple[str, Decimal]] = {
    "mg": ("mass", Decimal("0.001")), "g": ("mass", Decimal(1)), "kg": ("mass", Decimal(1000)),
    "jin": ("mass", Decimal(500)),
    "ml": ("volume", Decimal(1)), "l": ("volume", Decimal(1000)),
    "mm": ("length", Decimal(1)), "cm": ("length", Decimal(10)), "m": ("length", Decimal(1000)),
    "km": ("length", Decimal(1_000_000)),
    "s": ("time", Decimal(1)), "min": ("time", Decimal(60)), "h": ("time", Decimal(3600)),
    "W": ("power", Decimal(1)), "kW": ("power", Decimal(1000)),
    "Hz": ("frequency", Decimal(1)), "kHz": ("frequency", Decimal(1000)),
    "MHz": ("frequency", Decimal(10**6)), "GHz": ("frequency", Decimal(10**9)),
    "Ah": ("charge", Decimal(1000)), "mAh": ("charge", Decimal(1)),
}

# --- Model names and product lines ------------------------------------------------------------
# Product lines that a number after them makes a model ("iPhone 13", "Galaxy S23"), as a
# case-insensitive regex alternation.
LINE_WORDS = (
    r"iphone|ipad(?:[ \t](?:air|pro|mini))?|ipod(?:[ \t]touch)?|imac|macbook(?:[ \t](?:air|pro))?"
    r"|airpods(?:[ \t](?:pro|max))?|apple[ \t]watch(?:[ \t](?:series|ultra|se))?|watch[ \t]series"
    r"|galaxy(?:[ \t](?:s|a|z[ \t]?(?:fold|flip)|note|tab(?:[ \t]s)?|buds|watch))?"
    r"|pixel(?:[ \t](?:pro|watch))?|xperia|surface(?:[ \t](?:pro|laptop|go|book))?|kindle"
    r"|playstation|xbox(?:[ \t]series)?|redmi(?:[ \t]note)?|xiaomi|mate|nova|honor|oneplus|nord"
    r"|reno|thinkpad|ideapad|gopro[ \t]hero"
)
# All-caps words that are not a product line before a number ("UP TO 50", "PACK 2", "USD 20").
CAPS_STOP_WORDS = (
    "TO|UP|OF|FOR|IN|ON|AT|BY|AND|WITH|THE|OR|IS|ARE|ALL|BUY|GET|NEW|NOW|ONLY|PACK|SET|OFF|SAVE|PLUS"
    "|AN|AS|IT|ITS|YOUR|OUR|US|USD|EUR|GBP|RMB|CNY|SIZE|AGE|AGES|FROM|OVER|UNDER|X"
)

# --- Comparing words --------------------------------------------------------------------------
# Spellings compared as one ("aluminum" == "aluminium").
SPELLING = {"aluminum": "aluminium", "fiber": "fibre", "gray": "grey", "color": "colour"}

# --- The sources (attributes and context) -----------------------------------------------------
# Yes/no attribute values: "waterproof: yes" backs waterproof, "waterproof: no" does not.
AFFIRMATIVE = frozenset({"yes", "y", "true", "是", "有", "支持", "✓", "✔", "√"})
NEGATIVE = frozenset({"no", "n", "false", "none", "否", "无", "不支持", "没有", "✗", "×"})
# Words that do not count when deciding whether the copy uses an attribute's value.
STOP_WORDS = frozenset(
    {"a", "an", "the", "and", "or", "of", "for", "with", "in", "on", "at", "by", "to", "from", "per"}
    | {"plus", "x", "&", "vs", "和", "与", "及", "的"}
)
