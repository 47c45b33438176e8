// Interface strings (the menu's own text comes translated from the agent) and the chosen language.
const S = {
  en: {
    lang: "English", language: "Language", table: "Table", search: "Search the menu", filters: "Filters",
    diet: "Diet", without: "Leave out", clear: "Clear filters", noMatch: "Nothing matches. Try fewer filters.", noMatchSearch: "No dish matches “{0}”. Try another word.", matches: "{0} dishes match.", match1: "1 dish matches.",
    soldOut: "Sold out", contains: "Contains", add: "Add", addNamed: "Add {0}", added: "{0} added to your order.", close: "Close", note: "Note for the kitchen",
    notePh: "e.g. no onions", qty: "Quantity", less: "One less", more: "One more", required: "required",
    choose: "choose {0}", chooseRange: "choose {0} to {1}", upTo: "optional, up to {0}", none: "None",
    addToOrder: "Add to order · {0}", update: "Update · {0}", needChoice: "Please choose {1} for {0}.",
    cart: "Your order", viewCart: "View order", items: "{0} items", item1: "1 item", total: "Total", edit: "Edit",
    remove: "Remove", empty: "Nothing added yet.", send: "Send order · {0}", sending: "Sending…",
    sent: "Order #{0} is with the kitchen.", retry: "We could not confirm your order reached the kitchen. Tap Send again: it will not be ordered twice.",
    unavailable: "{0} Nothing was ordered. Remove it or choose something else.", soldOutNamed: "{0} is sold out.", failed: "Your order was not sent: {0}",
    menu: "Menu", orders: "Your orders", bill: "Bill", noOrders: "No orders yet. Orders you send appear here.",
    orderN: "Order #{0}", received: "Received", preparing: "Preparing", ready: "Ready", served: "Served",
    voided: "removed", statusNow: "Order #{0}: {1}", callWaiter: "Call a waiter", askBill: "Ask for the bill",
    reqSent: "Sent. Waiting for staff to see it…", reqAck: "Staff have seen your request.",
    reqAckWaiter: "A waiter is on the way.", reqAckBill: "Your bill is on its way.", reqFailed: "Could not reach staff: {0}",
    billEmpty: "Nothing on the bill yet.", paid: "Paid", left: "Left to pay", held: "Being paid", subtotal: "Subtotal",
    tax: "VAT {0}", taxIncl: "incl. VAT {0}", tips: "Tips", settled: "The bill is fully paid. Thank you!",
    inProgress: "Someone at the table is paying {0} right now.", inProgressAll: "Someone at the table is paying the rest ({0}) right now. If they do not finish, it can be paid here again from {1}, or ask staff.",
    payWhat: "What would you like to pay?", payAll: "Everything left", payEqual: "An equal share",
    people: "Split between", peopleN: "{0} people", payItems: "Chosen items", payAmount: "A custom amount",
    amount: "Amount", whole: "Whole", part: "1/{0}", tip: "Tip", noTip: "No tip", custom: "Custom", tipAmount: "Tip amount",
    youPay: "You pay {0}", withTip: "{0} + {1} tip", payBtn: "Pay {0}", paying: "Preparing payment…",
    pickItems: "Choose at least one item.", badAmount: "Enter an amount up to {0}.",
    offline: "The restaurant's internet connection is down.",
    offlineHow: "You can still pay by card with your phone's mobile data: the pay link works the same. Switch Wi-Fi off, then open the pay page. Or pay at the counter.",
    openPay: "Open pay page", copyLink: "Copy pay link", copied: "Link copied.", step1: "1. Switch off Wi-Fi on your phone.",
    step2: "2. Open the pay page (mobile data).", unfinished: "A payment you started was not finished.",
    cancelPay: "Cancel that payment", closed: "This table's visit has ended. Welcome! You can order afresh.",
    live: "Live updates paused; reconnecting…", loadFail: "Could not load the menu. Check your Wi-Fi and reload.",
    offlineMenu: "You are offline: showing the menu saved on your phone.",
    shareN: "{0} paid", tipsIncl: "incl. {0} tip",
    receipt: "Your receipt (keep or print)", paidNote: "The bill is paid, thank you! Dishes still on their way keep updating here.",
    endedTitle: "Thank you for your visit!", endedBody: "Your visit at {0} has ended. We hope to see you again soon.",
    newVisit: "Start a new order",
  },
  de: {
    lang: "Deutsch", language: "Sprache", table: "Tisch", search: "Speisekarte durchsuchen", filters: "Filter",
    diet: "Ernährung", without: "Ohne", clear: "Filter zurücksetzen", noMatch: "Nichts gefunden. Weniger Filter versuchen.", noMatchSearch: "Kein Gericht passt zu „{0}“. Versuchen Sie ein anderes Wort.", matches: "{0} Gerichte passen.", match1: "1 Gericht passt.",
    soldOut: "Ausverkauft", contains: "Enthält", add: "Hinzufügen", addNamed: "{0} hinzufügen", added: "{0} zur Bestellung hinzugefügt.", close: "Schließen",
    note: "Hinweis für die Küche", notePh: "z. B. ohne Zwiebeln", qty: "Menge", less: "Eins weniger", more: "Eins mehr",
    required: "Pflicht", choose: "{0} wählen", chooseRange: "{0} bis {1} wählen", upTo: "optional, bis zu {0}", none: "Keine",
    addToOrder: "Zur Bestellung · {0}", update: "Ändern · {0}", needChoice: "Bitte {1} für {0} wählen.",
    cart: "Ihre Bestellung", viewCart: "Bestellung ansehen", items: "{0} Artikel", item1: "1 Artikel", total: "Summe",
    edit: "Ändern", remove: "Entfernen", empty: "Noch nichts ausgewählt.", send: "Bestellung senden · {0}",
    sending: "Wird gesendet…", sent: "Bestellung Nr. {0} ist in der Küche.",
    retry: "Wir konnten nicht bestätigen, dass Ihre Bestellung ankam. Tippen Sie erneut auf Senden: Es wird nicht doppelt bestellt.",
    unavailable: "{0} Es wurde nichts bestellt. Entfernen Sie es oder wählen Sie etwas anderes.", soldOutNamed: "{0} ist ausverkauft.",
    failed: "Ihre Bestellung wurde nicht gesendet: {0}", menu: "Speisekarte", orders: "Ihre Bestellungen", bill: "Rechnung",
    noOrders: "Noch keine Bestellungen. Gesendete Bestellungen erscheinen hier.", orderN: "Bestellung Nr. {0}",
    received: "Eingegangen", preparing: "In Zubereitung", ready: "Fertig", served: "Serviert", voided: "storniert",
    statusNow: "Bestellung Nr. {0}: {1}", callWaiter: "Bedienung rufen", askBill: "Rechnung anfordern",
    reqSent: "Gesendet. Wartet auf das Personal…", reqAck: "Das Personal hat Ihre Anfrage gesehen.",
    reqAckWaiter: "Die Bedienung kommt gleich.", reqAckBill: "Die Rechnung kommt gleich.",
    reqFailed: "Personal nicht erreichbar: {0}", billEmpty: "Noch nichts auf der Rechnung.", paid: "Bezahlt",
    left: "Offen", held: "Wird bezahlt", subtotal: "Zwischensumme", tax: "MwSt. {0}", taxIncl: "inkl. MwSt. {0}",
    tips: "Trinkgeld", settled: "Die Rechnung ist bezahlt. Vielen Dank!",
    inProgress: "Jemand am Tisch bezahlt gerade {0}.", inProgressAll: "Jemand am Tisch bezahlt gerade den Rest ({0}). Wird die Zahlung nicht abgeschlossen, kann er ab {1} hier wieder bezahlt werden, oder fragen Sie das Personal.", payWhat: "Was möchten Sie bezahlen?",
    payAll: "Alles Offene", payEqual: "Einen gleichen Anteil", people: "Aufteilen auf", peopleN: "{0} Personen",
    payItems: "Ausgewählte Positionen", payAmount: "Einen eigenen Betrag", amount: "Betrag", whole: "Ganz", part: "1/{0}",
    tip: "Trinkgeld", noTip: "Kein Trinkgeld", custom: "Eigener", tipAmount: "Trinkgeld-Betrag", youPay: "Sie zahlen {0}",
    withTip: "{0} + {1} Trinkgeld", payBtn: "{0} bezahlen", paying: "Zahlung wird vorbereitet…",
    pickItems: "Wählen Sie mindestens eine Position.", badAmount: "Geben Sie einen Betrag bis {0} ein.",
    offline: "Die Internetverbindung des Restaurants ist unterbrochen.",
    offlineHow: "Sie können trotzdem mit Karte über die mobilen Daten Ihres Telefons zahlen: Der Zahlungslink funktioniert genauso. WLAN ausschalten und dann die Zahlungsseite öffnen. Oder an der Kasse zahlen.",
    openPay: "Zahlungsseite öffnen", copyLink: "Zahlungslink kopieren", copied: "Link kopiert.",
    step1: "1. WLAN am Telefon ausschalten.", step2: "2. Zahlungsseite öffnen (mobile Daten).",
    unfinished: "Eine begonnene Zahlung wurde nicht abgeschlossen.", cancelPay: "Diese Zahlung abbrechen",
    closed: "Der Besuch an diesem Tisch ist beendet. Willkommen! Sie können neu bestellen.",
    live: "Live-Updates unterbrochen; neue Verbindung…", loadFail: "Speisekarte konnte nicht geladen werden. WLAN prüfen und neu laden.",
    offlineMenu: "Sie sind offline: Die auf Ihrem Telefon gespeicherte Speisekarte wird angezeigt.",
    shareN: "{0} bezahlt", tipsIncl: "inkl. {0} Trinkgeld",
    receipt: "Ihr Beleg (sichern oder drucken)", paidNote: "Die Rechnung ist bezahlt, vielen Dank! Gerichte, die noch kommen, werden hier weiter angezeigt.",
    endedTitle: "Danke für Ihren Besuch!", endedBody: "Ihr Besuch an {0} ist beendet. Wir freuen uns auf ein Wiedersehen.",
    newVisit: "Neue Bestellung beginnen",
  },
  fr: {
    lang: "Français", language: "Langue", table: "Table", search: "Rechercher dans la carte", filters: "Filtres",
    diet: "Régime", without: "Sans", clear: "Effacer les filtres", noMatch: "Aucun résultat. Essayez moins de filtres.", noMatchSearch: "Aucun plat ne correspond à « {0} ». Essayez un autre mot.", matches: "{0} plats correspondent.", match1: "1 plat correspond.",
    soldOut: "Épuisé", contains: "Contient", add: "Ajouter", addNamed: "Ajouter {0}", added: "{0} ajouté à votre commande.", close: "Fermer",
    note: "Note pour la cuisine", notePh: "ex. sans oignons", qty: "Quantité", less: "Un de moins", more: "Un de plus",
    required: "obligatoire", choose: "choisir {0}", chooseRange: "choisir de {0} à {1}", upTo: "facultatif, jusqu'à {0}",
    none: "Aucun", addToOrder: "Ajouter · {0}", update: "Modifier · {0}", needChoice: "Veuillez choisir {1} pour {0}.",
    cart: "Votre commande", viewCart: "Voir la commande", items: "{0} articles", item1: "1 article", total: "Total",
    edit: "Modifier", remove: "Retirer", empty: "Rien pour l'instant.", send: "Envoyer la commande · {0}",
    sending: "Envoi…", sent: "La commande n° {0} est en cuisine.",
    retry: "Nous n'avons pas pu confirmer l'arrivée de votre commande. Touchez Envoyer à nouveau : elle ne sera pas commandée deux fois.",
    unavailable: "{0} Rien n'a été commandé. Retirez-le ou choisissez autre chose.", soldOutNamed: "{0} est épuisé.",
    failed: "Votre commande n'a pas été envoyée : {0}", menu: "Carte", orders: "Vos commandes", bill: "Addition",
    noOrders: "Pas encore de commande. Vos commandes envoyées apparaissent ici.", orderN: "Commande n° {0}",
    received: "Reçue", preparing: "En préparation", ready: "Prête", served: "Servie", voided: "annulé",
    statusNow: "Commande n° {0} : {1}", callWaiter: "Appeler un serveur", askBill: "Demander l'addition",
    reqSent: "Envoyé. En attente du personnel…", reqAck: "Le personnel a vu votre demande.",
    reqAckWaiter: "Un serveur arrive.", reqAckBill: "Votre addition arrive.", reqFailed: "Personnel injoignable : {0}",
    billEmpty: "Rien sur l'addition pour l'instant.", paid: "Payé", left: "Reste à payer", held: "En cours de paiement",
    subtotal: "Sous-total", tax: "TVA {0}", taxIncl: "dont TVA {0}", tips: "Pourboires",
    settled: "L'addition est réglée. Merci !",
    inProgress: "Quelqu'un à la table paie {0} en ce moment.", inProgressAll: "Quelqu'un à la table paie le reste ({0}) en ce moment. S'il ne termine pas, il pourra être payé ici à partir de {1}, ou demandez au personnel.", payWhat: "Que souhaitez-vous payer ?", payAll: "Tout le reste",
    payEqual: "Une part égale", people: "Partager entre", peopleN: "{0} personnes", payItems: "Des articles choisis",
    payAmount: "Un montant libre", amount: "Montant", whole: "Entier", part: "1/{0}", tip: "Pourboire",
    noTip: "Sans pourboire", custom: "Autre", tipAmount: "Montant du pourboire", youPay: "Vous payez {0}",
    withTip: "{0} + {1} de pourboire", payBtn: "Payer {0}", paying: "Préparation du paiement…",
    pickItems: "Choisissez au moins un article.", badAmount: "Saisissez un montant jusqu'à {0}.",
    offline: "La connexion internet du restaurant est coupée.",
    offlineHow: "Vous pouvez quand même payer par carte avec les données mobiles de votre téléphone : le lien de paiement fonctionne de la même façon. Coupez le Wi-Fi puis ouvrez la page de paiement. Ou payez au comptoir.",
    openPay: "Ouvrir la page de paiement", copyLink: "Copier le lien de paiement", copied: "Lien copié.",
    step1: "1. Coupez le Wi-Fi de votre téléphone.", step2: "2. Ouvrez la page de paiement (données mobiles).",
    unfinished: "Un paiement commencé n'a pas été terminé.", cancelPay: "Annuler ce paiement",
    closed: "La visite à cette table est terminée. Bienvenue ! Vous pouvez commander.",
    live: "Mises à jour en direct interrompues ; reconnexion…", loadFail: "Impossible de charger la carte. Vérifiez le Wi-Fi et rechargez.",
    offlineMenu: "Vous êtes hors ligne : voici la carte enregistrée sur votre téléphone.",
    shareN: "{0} payé", tipsIncl: "dont {0} de pourboire",
    receipt: "Votre reçu (à garder ou imprimer)", paidNote: "L'addition est réglée, merci ! Les plats encore en route restent suivis ici.",
    endedTitle: "Merci de votre visite !", endedBody: "Votre visite à {0} est terminée. Au plaisir de vous revoir.",
    newVisit: "Commencer une nouvelle commande",
  },
};

// EU allergen names and dietary tags; unknown codes show as they are.
const A = {
  en: { gluten: "gluten", crustaceans: "crustaceans", eggs: "eggs", fish: "fish", peanuts: "peanuts", soybeans: "soy",
    milk: "milk", nuts: "nuts", celery: "celery", mustard: "mustard", sesame: "sesame", sulphites: "sulphites",
    lupin: "lupin", molluscs: "molluscs", vegan: "Vegan", vegetarian: "Vegetarian", "gluten-free": "Gluten-free", spicy: "Spicy" },
  de: { gluten: "Gluten", crustaceans: "Krebstiere", eggs: "Eier", fish: "Fisch", peanuts: "Erdnüsse", soybeans: "Soja",
    milk: "Milch", nuts: "Schalenfrüchte", celery: "Sellerie", mustard: "Senf", sesame: "Sesam", sulphites: "Sulfite",
    lupin: "Lupinen", molluscs: "Weichtiere", vegan: "Vegan", vegetarian: "Vegetarisch", "gluten-free": "Glutenfrei", spicy: "Scharf" },
  fr: { gluten: "gluten", crustaceans: "crustacés", eggs: "œufs", fish: "poisson", peanuts: "arachides", soybeans: "soja",
    milk: "lait", nuts: "fruits à coque", celery: "céleri", mustard: "moutarde", sesame: "sésame", sulphites: "sulfites",
    lupin: "lupin", molluscs: "mollusques", vegan: "Végan", vegetarian: "Végétarien", "gluten-free": "Sans gluten", spicy: "Épicé" },
};

export const LANGS = Object.keys(S);
const KEY = "tableside.lang";
export let lang = "en";

/** The stored choice, else the page's language (the agent picked it from Accept-Language). */
export function initialLang() {
  const stored = localStorage.getItem(KEY);
  if (LANGS.includes(stored)) return stored;
  const page = document.documentElement.lang;
  if (LANGS.includes(page)) return page;
  return (navigator.languages || []).map((l) => l.slice(0, 2)).find((l) => LANGS.includes(l)) || "en";
}

export function setLang(value, remember = false) {
  lang = LANGS.includes(value) ? value : "en";
  document.documentElement.lang = lang;
  if (remember) localStorage.setItem(KEY, lang);
}

/** t("addNamed", "Soup") -> "Add Soup" */
export function t(key, ...args) {
  const s = S[lang][key] ?? S.en[key] ?? key;
  return s.replace(/\{(\d)\}/g, (_, i) => args[+i]);
}

export const label = (code) => A[lang][code] ?? A.en[code] ?? code;
export const langName = (code) => S[code]?.lang ?? code;

/** The phone's own regional variant of the language, for number formats (de -> de-CH in Zurich). */
export function locale() {
  return (navigator.languages || []).find((l) => l.split("-")[0] === lang) || lang;
}
