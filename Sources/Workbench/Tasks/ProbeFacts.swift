/// The facts behind the knowledge probe and the counterfactual task: common knowledge a small
/// English language model has seen many times (each pair checked against an encyclopaedia).
/// Plain data; `KnowledgeProbeTask` turns it into items.
enum ProbeFacts {
    /// Country → capital (the seat of government as commonly taught: Canberra, Ottawa, Brasília…).
    static let capitals: [(country: String, capital: String)] = [
        ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Portugal", "Lisbon"),
        ("the United Kingdom", "London"), ("Ireland", "Dublin"), ("Belgium", "Brussels"), ("the Netherlands", "Amsterdam"),
        ("Austria", "Vienna"), ("Switzerland", "Bern"), ("Poland", "Warsaw"), ("Czechia", "Prague"), ("Hungary", "Budapest"),
        ("Greece", "Athens"), ("Sweden", "Stockholm"), ("Norway", "Oslo"), ("Denmark", "Copenhagen"), ("Finland", "Helsinki"),
        ("Iceland", "Reykjavik"), ("Russia", "Moscow"), ("Ukraine", "Kyiv"), ("Romania", "Bucharest"), ("Bulgaria", "Sofia"),
        ("Serbia", "Belgrade"), ("Croatia", "Zagreb"), ("Turkey", "Ankara"), ("Egypt", "Cairo"), ("Kenya", "Nairobi"),
        ("Nigeria", "Abuja"), ("Ethiopia", "Addis Ababa"), ("Morocco", "Rabat"), ("Ghana", "Accra"), ("Senegal", "Dakar"),
        ("Japan", "Tokyo"), ("China", "Beijing"), ("South Korea", "Seoul"), ("India", "New Delhi"), ("Pakistan", "Islamabad"),
        ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"), ("Indonesia", "Jakarta"), ("the Philippines", "Manila"),
        ("Malaysia", "Kuala Lumpur"), ("Iran", "Tehran"), ("Iraq", "Baghdad"), ("Saudi Arabia", "Riyadh"), ("Israel", "Jerusalem"),
        ("Afghanistan", "Kabul"), ("Nepal", "Kathmandu"), ("Bangladesh", "Dhaka"), ("Mongolia", "Ulaanbaatar"),
        ("the United States", "Washington"), ("Canada", "Ottawa"), ("Mexico", "Mexico City"), ("Cuba", "Havana"),
        ("Brazil", "Brasília"), ("Argentina", "Buenos Aires"), ("Chile", "Santiago"), ("Peru", "Lima"), ("Colombia", "Bogotá"),
        ("Venezuela", "Caracas"), ("Australia", "Canberra"), ("New Zealand", "Wellington"), ("Lebanon", "Beirut"),
        ("Syria", "Damascus"), ("Jordan", "Amman"), ("Qatar", "Doha"), ("Sri Lanka", "Colombo"), ("Uganda", "Kampala"),
        ("Tanzania", "Dodoma"), ("Zimbabwe", "Harare"), ("Algeria", "Algiers"), ("Tunisia", "Tunis"), ("Libya", "Tripoli"),
        ("Sudan", "Khartoum"), ("Ecuador", "Quito"), ("Uruguay", "Montevideo"), ("Paraguay", "Asunción"), ("Bolivia", "Sucre"),
    ]

    /// Element → chemical symbol.
    static let elements: [(name: String, symbol: String)] = [
        ("hydrogen", "H"), ("helium", "He"), ("lithium", "Li"), ("carbon", "C"), ("nitrogen", "N"), ("oxygen", "O"),
        ("fluorine", "F"), ("neon", "Ne"), ("sodium", "Na"), ("magnesium", "Mg"), ("aluminium", "Al"), ("silicon", "Si"),
        ("phosphorus", "P"), ("sulfur", "S"), ("chlorine", "Cl"), ("argon", "Ar"), ("potassium", "K"), ("calcium", "Ca"),
        ("iron", "Fe"), ("copper", "Cu"), ("zinc", "Zn"), ("silver", "Ag"), ("tin", "Sn"), ("iodine", "I"),
        ("gold", "Au"), ("mercury", "Hg"), ("lead", "Pb"), ("uranium", "U"), ("nickel", "Ni"), ("cobalt", "Co"),
        ("platinum", "Pt"), ("tungsten", "W"), ("titanium", "Ti"), ("chromium", "Cr"), ("manganese", "Mn"), ("boron", "B"),
        ("beryllium", "Be"), ("bromine", "Br"), ("krypton", "Kr"), ("xenon", "Xe"), ("radon", "Rn"), ("plutonium", "Pu"),
    ]

    /// Word → its usual opposite.
    static let opposites: [(word: String, opposite: String)] = [
        ("hot", "cold"), ("up", "down"), ("big", "small"), ("fast", "slow"), ("happy", "sad"), ("light", "dark"),
        ("day", "night"), ("old", "young"), ("rich", "poor"), ("early", "late"), ("open", "closed"), ("full", "empty"),
        ("hard", "soft"), ("high", "low"), ("long", "short"), ("strong", "weak"), ("wet", "dry"), ("thick", "thin"),
        ("heavy", "light"), ("clean", "dirty"), ("loud", "quiet"), ("true", "false"), ("win", "lose"), ("buy", "sell"),
        ("first", "last"), ("inside", "outside"), ("left", "right"), ("north", "south"), ("east", "west"), ("push", "pull"),
        ("arrive", "leave"), ("begin", "end"), ("love", "hate"), ("friend", "enemy"), ("question", "answer"), ("above", "below"),
        ("before", "after"), ("always", "never"), ("good", "bad"), ("alive", "dead"), ("cheap", "expensive"), ("safe", "dangerous"),
        ("easy", "difficult"), ("near", "far"), ("sweet", "sour"), ("wide", "narrow"), ("deep", "shallow"), ("sharp", "blunt"),
    ]
}
