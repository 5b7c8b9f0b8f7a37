/*
 * Parley chat widget: one <script> tag adds a launcher and a chat panel.
 *
 *   <script src="https://chat.example/widget.js" data-title="Chat with us" defer></script>
 *
 * data-server  where Parley runs (default: where this script came from)
 * data-title   the panel's heading (default "Chat with support", in the widget's language)
 * data-side    "right" (default) or "left"
 * data-lang    the widget's language (default: the visitor's, from the catalogues below)
 * data-i18n    a JSON object of message id -> text, and data-i18n-<message id>="text": the site's words
 *
 * window.ParleyStrings = {"fr": {...}}, set before this script, gives words for several languages.
 *
 * Rendered in an open Shadow DOM so the host page's CSS cannot reach it.
 * Every string from the network is rendered as text, never as HTML.
 */
(() => {
  "use strict";

  const BUILD = "parley-widget/0.1.0";
  // Typing signals (docs/protocol.md §6.9): refreshed this often while typing, "stopped" after
  // this long without a keystroke.
  const TYPING_REFRESH_MS = 2000;
  const TYPING_IDLE_MS = 4000;
  const MAX_CHARS = 4000;
  // A heartbeat (and a ping to check the line) this often; idle after this long untouched.
  const HEARTBEAT_MS = 20000;
  const IDLE_MS = 60000;
  const script = document.currentScript;
  const data = (script && script.dataset) || {};
  const server = data.server || (script && script.src ? new URL(script.src).origin : location.origin);
  const storageKey = "parley:" + server;

  // The widget's own words, by message id, one catalogue per language (docs/widget.md, "Languages").
  // Kept as JSON between the two markers so tests read it as data; placeholders are {name}.
  const CATALOGUES = /* catalogues: begin */ {
    "en": {
      "title": "Chat with support",
      "status-connecting": "Connecting…",
      "status-online": "Online",
      "status-reconnecting": "Reconnecting…",
      "status-unavailable": "Not available",
      "status-waiting": "Waiting for an agent",
      "status-away": "Away",
      "status-nobody": "Nobody online",
      "close": "Close chat",
      "gate-intro": "Before we chat, please read and accept our conduct policy.",
      "policy-language": "Language of the policy",
      "policy-meta": "Version {version} · effective {effective}",
      "policy-text-label": "Conduct policy text",
      "rules-title": "The key rules",
      "read-full": "Read the full policy",
      "agree": "I have read and accept the Conduct Policy v{version}",
      "start": "Start chat",
      "affirm-full": "Ticked “{label}” and pressed “{button}”, having opened the full text",
      "affirm-rules": "Ticked “{label}” and pressed “{button}”, shown the key rules, the full text one click away",
      "policy-unverified": "The policy text could not be verified. Please reload the page.",
      "policy-changed": "The policy has just changed. Please read the new version.",
      "language-unavailable": "The policy is not available in that language.",
      "unavailable-title": "Chat is not available on this site",
      "unavailable-text": "This website is not set up to use this chat service. Please contact the website another way.",
      "messages": "Messages",
      "message": "Message",
      "placeholder": "Type your message…",
      "send": "Send",
      "offline": "You are offline. We will reconnect and send your messages as soon as we can.",
      "away-title-away": "Our team is away right now",
      "away-title-nobody": "Nobody from our team is online right now",
      "away-note": "{title}. After you accept the policy you can leave your e-mail address, and we will answer you there.",
      "away-intro": "Leave your e-mail address and we will answer you there. It is kept with this conversation.",
      "away-email": "Your e-mail address",
      "away-send": "Leave my e-mail",
      "away-empty": "Please enter your e-mail address.",
      "away-thanks": "Thank you. We will write to you at {email}.",
      "contact-left": "You left your e-mail address {email}. We will answer you there.",
      "accepted": "You accepted {title} v{version} at {time}. ",
      "download-policy": "Download the policy you accepted",
      "policy-receipt": "Receipt of acceptance\nPolicy: {title}, version {version}\nSHA-256: {sha256}\nAccepted at: {at} (UTC)\nConversation: {conversation}",
      "support": "Support",
      "an-agent": "An agent",
      "joined": "{name} joined the conversation.",
      "typing": "{name} is typing…",
      "seen": "Seen",
      "sending": "Sending…",
      "not-sent": "Not sent: {reason} ",
      "retry": "Retry",
      "erased": "(erased)",
      "ended-reason": "the conversation has ended.",
      "warning-title": "A warning from our team",
      "notice-fallback": "Our team cited clause {id}, “{title}”, of the conduct policy you accepted (version {version}):",
      "note": "Note from our team: {note}",
      "ended-title": "This conversation has ended",
      "abandoned-text": "It was closed after you had left the chat for a while.",
      "resolved-title": "This conversation is resolved",
      "resolved-text": "Thank you for chatting with us.",
      "new-conversation": "Start a new conversation",
      "draft-title": "Your unsent message",
      "draft-text": "It was not sent. You can still select and copy it.",
      "barred-title": "You can't start a new conversation",
      "rule": "Rule {id}, “{title}”",
      "barred-until": "You cannot start a conversation until {date}, because an earlier conversation broke rule {id}, “{title}”, of our conduct policy. You can contest this as the policy describes, quoting the reference {reference}.",
      "barred-permanently": "You cannot start a conversation any more, because an earlier conversation broke rule {id}, “{title}”, of our conduct policy. You can contest this as the policy describes, quoting the reference {reference}.",
      "applies-until": "This applies until {date}.",
      "applies-permanently": "This applies permanently.",
      "error-invalid_email": "That does not look like an e-mail address, e.g. name@example.com.",
      "error-message_too_long": "your message is too long. Please shorten it.",
      "error-rate_limited": "Too many new conversations. Please try again {when}.",
      "receipt-json": "Download receipt (signed JSON)",
      "receipt-page": "Download receipt (readable page)",
      "receipt-kind-acceptance": "your acceptance of the conduct policy",
      "receipt-kind-warning": "a warning you were given",
      "receipt-kind-closure": "the closure of your conversation",
      "receipt-title": "Receipt of {kind}",
      "receipt-intro": "The chat service signed this receipt with its Ed25519 key (key id {key_id}) when it recorded event {seq} of conversation {conversation}. The event's hash, {hash}, covers that event and every event before it, so any later change to the conversation's record contradicts this receipt. Keep the JSON file that came with it: it holds the signature.",
      "receipt-signed": "What was signed",
      "receipt-clause-title": "The clause cited",
      "receipt-clause": "Rule {id}, “{title}”:",
      "receipt-told": "What you were told",
      "receipt-policy-title": "The policy you accepted: {title}, version {version}",
      "receipt-policy-text": "Its SHA-256 is {sha256}. The full text, exactly as you were shown it:",
      "receipt-check-title": "How to check it",
      "receipt-check": "Get the operator's published public key (for example from {keys} of the chat server), then either run {command} (add {bundle} to check an evidence bundle holds this exact event), or check it with any Ed25519 tool, for example OpenSSL 3:",
      "receipt-bytes": "The signed bytes are the receipt's fields as canonical JSON (RFC 8785: sorted keys, no spaces, UTF-8). The key inside the receipt is for information only: check it against the key the operator publishes.",
      "receipt-file": "The receipt file"
    },
    "de": {
      "title": "Chat mit dem Support",
      "status-connecting": "Verbindung wird hergestellt…",
      "status-online": "Online",
      "status-reconnecting": "Verbindung wird wiederhergestellt…",
      "status-unavailable": "Nicht verfügbar",
      "status-waiting": "Warten auf einen Mitarbeiter",
      "status-away": "Abwesend",
      "status-nobody": "Niemand online",
      "close": "Chat schließen",
      "gate-intro": "Bevor wir chatten, lesen Sie bitte unsere Verhaltensrichtlinie und stimmen Sie ihr zu.",
      "policy-language": "Sprache der Richtlinie",
      "policy-meta": "Version {version} · gültig ab {effective}",
      "policy-text-label": "Text der Verhaltensrichtlinie",
      "rules-title": "Die wichtigsten Regeln",
      "read-full": "Vollständige Richtlinie lesen",
      "agree": "Ich habe die Verhaltensrichtlinie v{version} gelesen und stimme ihr zu",
      "start": "Chat starten",
      "affirm-full": "„{label}“ angekreuzt und „{button}“ gedrückt, nachdem der vollständige Text geöffnet wurde",
      "affirm-rules": "„{label}“ angekreuzt und „{button}“ gedrückt; die wichtigsten Regeln wurden angezeigt, der vollständige Text war einen Klick entfernt",
      "policy-unverified": "Der Text der Richtlinie konnte nicht überprüft werden. Bitte laden Sie die Seite neu.",
      "policy-changed": "Die Richtlinie wurde soeben geändert. Bitte lesen Sie die neue Version.",
      "language-unavailable": "Die Richtlinie ist in dieser Sprache nicht verfügbar.",
      "unavailable-title": "Der Chat ist auf dieser Website nicht verfügbar",
      "unavailable-text": "Diese Website ist nicht für diesen Chat-Dienst eingerichtet. Bitte kontaktieren Sie die Website auf anderem Weg.",
      "messages": "Nachrichten",
      "message": "Nachricht",
      "placeholder": "Nachricht eingeben…",
      "send": "Senden",
      "offline": "Sie sind offline. Wir verbinden uns erneut und senden Ihre Nachrichten, sobald es geht.",
      "away-title-away": "Unser Team ist gerade nicht da",
      "away-title-nobody": "Gerade ist niemand aus unserem Team online",
      "away-note": "{title}. Nachdem Sie der Richtlinie zugestimmt haben, können Sie Ihre E-Mail-Adresse hinterlassen, und wir antworten Ihnen dort.",
      "away-intro": "Hinterlassen Sie Ihre E-Mail-Adresse, und wir antworten Ihnen dort. Sie wird mit diesem Gespräch gespeichert.",
      "away-email": "Ihre E-Mail-Adresse",
      "away-send": "E-Mail-Adresse hinterlassen",
      "away-empty": "Bitte geben Sie Ihre E-Mail-Adresse ein.",
      "away-thanks": "Vielen Dank. Wir schreiben Ihnen an {email}.",
      "contact-left": "Sie haben Ihre E-Mail-Adresse {email} hinterlassen. Wir antworten Ihnen dort.",
      "accepted": "Sie haben {title} v{version} um {time} akzeptiert. ",
      "download-policy": "Die akzeptierte Richtlinie herunterladen",
      "policy-receipt": "Zustimmungsbeleg\nRichtlinie: {title}, Version {version}\nSHA-256: {sha256}\nAkzeptiert am: {at} (UTC)\nGespräch: {conversation}",
      "support": "Support",
      "an-agent": "Ein Mitarbeiter",
      "joined": "{name} ist dem Gespräch beigetreten.",
      "typing": "{name} schreibt…",
      "seen": "Gesehen",
      "sending": "Wird gesendet…",
      "not-sent": "Nicht gesendet: {reason} ",
      "retry": "Erneut versuchen",
      "erased": "(gelöscht)",
      "ended-reason": "das Gespräch ist beendet.",
      "warning-title": "Eine Verwarnung von unserem Team",
      "notice-fallback": "Unser Team hat Regel {id}, „{title}“, der von Ihnen akzeptierten Verhaltensrichtlinie (Version {version}) angeführt:",
      "note": "Hinweis von unserem Team: {note}",
      "ended-title": "Dieses Gespräch ist beendet",
      "abandoned-text": "Es wurde beendet, nachdem Sie den Chat eine Weile verlassen hatten.",
      "resolved-title": "Dieses Gespräch ist abgeschlossen",
      "resolved-text": "Vielen Dank für das Gespräch.",
      "new-conversation": "Neues Gespräch beginnen",
      "draft-title": "Ihre nicht gesendete Nachricht",
      "draft-text": "Sie wurde nicht gesendet. Sie können sie noch markieren und kopieren.",
      "barred-title": "Sie können kein neues Gespräch beginnen",
      "rule": "Regel {id}, „{title}“",
      "barred-until": "Sie können bis {date} kein Gespräch beginnen, weil ein früheres Gespräch gegen Regel {id}, „{title}“, unserer Verhaltensrichtlinie verstoßen hat. Sie können dem widersprechen, wie es die Richtlinie beschreibt, und dabei die Referenz {reference} angeben.",
      "barred-permanently": "Sie können kein Gespräch mehr beginnen, weil ein früheres Gespräch gegen Regel {id}, „{title}“, unserer Verhaltensrichtlinie verstoßen hat. Sie können dem widersprechen, wie es die Richtlinie beschreibt, und dabei die Referenz {reference} angeben.",
      "applies-until": "Dies gilt bis {date}.",
      "applies-permanently": "Dies gilt dauerhaft.",
      "error-invalid_email": "Das sieht nicht wie eine E-Mail-Adresse aus, z. B. name@example.com.",
      "error-message_too_long": "Ihre Nachricht ist zu lang. Bitte kürzen Sie sie.",
      "error-rate_limited": "Zu viele neue Gespräche. Bitte versuchen Sie es {when} erneut.",
      "receipt-json": "Beleg herunterladen (signiertes JSON)",
      "receipt-page": "Beleg herunterladen (lesbare Seite)",
      "receipt-kind-acceptance": "Ihre Zustimmung zur Verhaltensrichtlinie",
      "receipt-kind-warning": "eine Ihnen erteilte Verwarnung",
      "receipt-kind-closure": "die Beendigung Ihres Gesprächs",
      "receipt-title": "Beleg über {kind}",
      "receipt-intro": "Der Chat-Dienst hat diesen Beleg mit seinem Ed25519-Schlüssel (Schlüssel-ID {key_id}) signiert, als er Ereignis {seq} des Gesprächs {conversation} aufgezeichnet hat. Der Hash des Ereignisses, {hash}, umfasst dieses Ereignis und alle vorherigen; jede spätere Änderung am Protokoll des Gesprächs widerspricht daher diesem Beleg. Bewahren Sie die zugehörige JSON-Datei auf: Sie enthält die Signatur.",
      "receipt-signed": "Was signiert wurde",
      "receipt-clause-title": "Die angeführte Regel",
      "receipt-clause": "Regel {id}, „{title}“:",
      "receipt-told": "Was Ihnen mitgeteilt wurde",
      "receipt-policy-title": "Die von Ihnen akzeptierte Richtlinie: {title}, Version {version}",
      "receipt-policy-text": "Ihr SHA-256 ist {sha256}. Der vollständige Text, genau so, wie er Ihnen angezeigt wurde:",
      "receipt-check-title": "So prüfen Sie ihn",
      "receipt-check": "Besorgen Sie sich den veröffentlichten öffentlichen Schlüssel des Betreibers (zum Beispiel unter {keys} des Chat-Servers) und führen Sie dann entweder {command} aus (fügen Sie {bundle} hinzu, um zu prüfen, dass ein Beweispaket genau dieses Ereignis enthält), oder prüfen Sie ihn mit einem beliebigen Ed25519-Werkzeug, zum Beispiel OpenSSL 3:",
      "receipt-bytes": "Die signierten Bytes sind die Felder des Belegs als kanonisches JSON (RFC 8785: sortierte Schlüssel, keine Leerzeichen, UTF-8). Der Schlüssel im Beleg dient nur zur Information: Prüfen Sie ihn gegen den Schlüssel, den der Betreiber veröffentlicht.",
      "receipt-file": "Die Belegdatei"
    },
    "fr": {
      "title": "Discuter avec le support",
      "status-connecting": "Connexion…",
      "status-online": "En ligne",
      "status-reconnecting": "Reconnexion…",
      "status-unavailable": "Indisponible",
      "status-waiting": "En attente d’un conseiller",
      "status-away": "Absent",
      "status-nobody": "Personne en ligne",
      "close": "Fermer le chat",
      "gate-intro": "Avant de discuter, merci de lire et d’accepter notre charte de conduite.",
      "policy-language": "Langue de la charte",
      "policy-meta": "Version {version} · en vigueur depuis le {effective}",
      "policy-text-label": "Texte de la charte de conduite",
      "rules-title": "Les règles essentielles",
      "read-full": "Lire la charte complète",
      "agree": "J’ai lu et j’accepte la charte de conduite v{version}",
      "start": "Commencer la discussion",
      "affirm-full": "A coché « {label} » et appuyé sur « {button} », après avoir ouvert le texte complet",
      "affirm-rules": "A coché « {label} » et appuyé sur « {button} », les règles essentielles affichées, le texte complet à un clic",
      "policy-unverified": "Le texte de la charte n’a pas pu être vérifié. Veuillez recharger la page.",
      "policy-changed": "La charte vient de changer. Merci de lire la nouvelle version.",
      "language-unavailable": "La charte n’est pas disponible dans cette langue.",
      "unavailable-title": "Le chat n’est pas disponible sur ce site",
      "unavailable-text": "Ce site n’est pas configuré pour utiliser ce service de chat. Veuillez contacter le site par un autre moyen.",
      "messages": "Messages",
      "message": "Message",
      "placeholder": "Écrivez votre message…",
      "send": "Envoyer",
      "offline": "Vous êtes hors ligne. Nous nous reconnecterons et enverrons vos messages dès que possible.",
      "away-title-away": "Notre équipe est absente pour le moment",
      "away-title-nobody": "Personne de notre équipe n’est en ligne pour le moment",
      "away-note": "{title}. Après avoir accepté la charte, vous pourrez laisser votre adresse e-mail et nous vous répondrons par e-mail.",
      "away-intro": "Laissez votre adresse e-mail et nous vous répondrons par e-mail. Elle est conservée avec cette conversation.",
      "away-email": "Votre adresse e-mail",
      "away-send": "Laisser mon e-mail",
      "away-empty": "Veuillez saisir votre adresse e-mail.",
      "away-thanks": "Merci. Nous vous écrirons à {email}.",
      "contact-left": "Vous avez laissé votre adresse e-mail {email}. Nous vous y répondrons.",
      "accepted": "Vous avez accepté {title} v{version} à {time}. ",
      "download-policy": "Télécharger la charte acceptée",
      "policy-receipt": "Reçu d’acceptation\nCharte : {title}, version {version}\nSHA-256 : {sha256}\nAcceptée le : {at} (UTC)\nConversation : {conversation}",
      "support": "Support",
      "an-agent": "Un conseiller",
      "joined": "{name} a rejoint la conversation.",
      "typing": "{name} est en train d’écrire…",
      "seen": "Vu",
      "sending": "Envoi…",
      "not-sent": "Non envoyé : {reason} ",
      "retry": "Réessayer",
      "erased": "(effacé)",
      "ended-reason": "la conversation est terminée.",
      "warning-title": "Un avertissement de notre équipe",
      "notice-fallback": "Notre équipe a invoqué la règle {id}, « {title} », de la charte de conduite que vous avez acceptée (version {version}) :",
      "note": "Note de notre équipe : {note}",
      "ended-title": "Cette conversation est terminée",
      "abandoned-text": "Elle a été close après que vous avez quitté le chat pendant un moment.",
      "resolved-title": "Cette conversation est résolue",
      "resolved-text": "Merci d’avoir discuté avec nous.",
      "new-conversation": "Commencer une nouvelle conversation",
      "draft-title": "Votre message non envoyé",
      "draft-text": "Il n’a pas été envoyé. Vous pouvez encore le sélectionner et le copier.",
      "barred-title": "Vous ne pouvez pas commencer de nouvelle conversation",
      "rule": "Règle {id}, « {title} »",
      "barred-until": "Vous ne pouvez pas commencer de conversation jusqu’au {date}, car une conversation précédente a enfreint la règle {id}, « {title} », de notre charte de conduite. Vous pouvez contester cette décision comme le prévoit la charte, en indiquant la référence {reference}.",
      "barred-permanently": "Vous ne pouvez plus commencer de conversation, car une conversation précédente a enfreint la règle {id}, « {title} », de notre charte de conduite. Vous pouvez contester cette décision comme le prévoit la charte, en indiquant la référence {reference}.",
      "applies-until": "Cette mesure s’applique jusqu’au {date}.",
      "applies-permanently": "Cette mesure s’applique définitivement.",
      "error-invalid_email": "Cela ne ressemble pas à une adresse e-mail, par exemple nom@example.com.",
      "error-message_too_long": "votre message est trop long. Merci de le raccourcir.",
      "error-rate_limited": "Trop de nouvelles conversations. Veuillez réessayer {when}.",
      "receipt-json": "Télécharger le reçu (JSON signé)",
      "receipt-page": "Télécharger le reçu (page lisible)",
      "receipt-kind-acceptance": "votre acceptation de la charte de conduite",
      "receipt-kind-warning": "un avertissement qui vous a été adressé",
      "receipt-kind-closure": "la clôture de votre conversation",
      "receipt-title": "Reçu de {kind}",
      "receipt-intro": "Le service de chat a signé ce reçu avec sa clé Ed25519 (identifiant {key_id}) lorsqu’il a enregistré l’événement {seq} de la conversation {conversation}. L’empreinte de l’événement, {hash}, couvre cet événement et tous ceux qui le précèdent : toute modification ultérieure du registre de la conversation contredit donc ce reçu. Conservez le fichier JSON qui l’accompagne : il contient la signature.",
      "receipt-signed": "Ce qui a été signé",
      "receipt-clause-title": "La règle invoquée",
      "receipt-clause": "Règle {id}, « {title} » :",
      "receipt-told": "Ce qui vous a été dit",
      "receipt-policy-title": "La charte que vous avez acceptée : {title}, version {version}",
      "receipt-policy-text": "Son SHA-256 est {sha256}. Le texte complet, exactement tel qu’il vous a été présenté :",
      "receipt-check-title": "Comment le vérifier",
      "receipt-check": "Procurez-vous la clé publique publiée par l’opérateur (par exemple à {keys} du serveur de chat), puis exécutez {command} (ajoutez {bundle} pour vérifier qu’un dossier de preuves contient exactement cet événement), ou vérifiez-le avec n’importe quel outil Ed25519, par exemple OpenSSL 3 :",
      "receipt-bytes": "Les octets signés sont les champs du reçu en JSON canonique (RFC 8785 : clés triées, sans espaces, UTF-8). La clé figurant dans le reçu n’est donnée qu’à titre d’information : comparez-la à la clé que publie l’opérateur.",
      "receipt-file": "Le fichier du reçu"
    },
    "es": {
      "title": "Chatea con soporte",
      "status-connecting": "Conectando…",
      "status-online": "En línea",
      "status-reconnecting": "Reconectando…",
      "status-unavailable": "No disponible",
      "status-waiting": "Esperando a un agente",
      "status-away": "Ausente",
      "status-nobody": "Nadie en línea",
      "close": "Cerrar el chat",
      "gate-intro": "Antes de chatear, lee y acepta nuestra política de conducta.",
      "policy-language": "Idioma de la política",
      "policy-meta": "Versión {version} · vigente desde el {effective}",
      "policy-text-label": "Texto de la política de conducta",
      "rules-title": "Las normas principales",
      "read-full": "Leer la política completa",
      "agree": "He leído y acepto la política de conducta v{version}",
      "start": "Empezar el chat",
      "affirm-full": "Marcó «{label}» y pulsó «{button}», tras abrir el texto completo",
      "affirm-rules": "Marcó «{label}» y pulsó «{button}», con las normas principales a la vista y el texto completo a un clic",
      "policy-unverified": "No se pudo verificar el texto de la política. Vuelve a cargar la página.",
      "policy-changed": "La política acaba de cambiar. Lee la nueva versión.",
      "language-unavailable": "La política no está disponible en ese idioma.",
      "unavailable-title": "El chat no está disponible en este sitio",
      "unavailable-text": "Este sitio web no está configurado para usar este servicio de chat. Ponte en contacto con el sitio por otra vía.",
      "messages": "Mensajes",
      "message": "Mensaje",
      "placeholder": "Escribe tu mensaje…",
      "send": "Enviar",
      "offline": "Estás sin conexión. Volveremos a conectarnos y enviaremos tus mensajes en cuanto podamos.",
      "away-title-away": "Nuestro equipo está ausente en este momento",
      "away-title-nobody": "No hay nadie de nuestro equipo en línea en este momento",
      "away-note": "{title}. Cuando aceptes la política podrás dejar tu dirección de correo electrónico y te responderemos allí.",
      "away-intro": "Deja tu dirección de correo electrónico y te responderemos allí. Se guarda con esta conversación.",
      "away-email": "Tu dirección de correo electrónico",
      "away-send": "Dejar mi correo",
      "away-empty": "Escribe tu dirección de correo electrónico.",
      "away-thanks": "Gracias. Te escribiremos a {email}.",
      "contact-left": "Has dejado tu dirección de correo electrónico {email}. Te responderemos allí.",
      "accepted": "Aceptaste {title} v{version} a las {time}. ",
      "download-policy": "Descargar la política que aceptaste",
      "policy-receipt": "Comprobante de aceptación\nPolítica: {title}, versión {version}\nSHA-256: {sha256}\nAceptada el: {at} (UTC)\nConversación: {conversation}",
      "support": "Soporte",
      "an-agent": "Un agente",
      "joined": "{name} se ha unido a la conversación.",
      "typing": "{name} está escribiendo…",
      "seen": "Visto",
      "sending": "Enviando…",
      "not-sent": "No enviado: {reason} ",
      "retry": "Reintentar",
      "erased": "(borrado)",
      "ended-reason": "la conversación ha terminado.",
      "warning-title": "Una advertencia de nuestro equipo",
      "notice-fallback": "Nuestro equipo ha citado la norma {id}, «{title}», de la política de conducta que aceptaste (versión {version}):",
      "note": "Nota de nuestro equipo: {note}",
      "ended-title": "Esta conversación ha terminado",
      "abandoned-text": "Se cerró después de que dejaras el chat durante un rato.",
      "resolved-title": "Esta conversación está resuelta",
      "resolved-text": "Gracias por chatear con nosotros.",
      "new-conversation": "Empezar una nueva conversación",
      "draft-title": "Tu mensaje sin enviar",
      "draft-text": "No se envió. Todavía puedes seleccionarlo y copiarlo.",
      "barred-title": "No puedes empezar una nueva conversación",
      "rule": "Norma {id}, «{title}»",
      "barred-until": "No puedes empezar una conversación hasta el {date}, porque una conversación anterior incumplió la norma {id}, «{title}», de nuestra política de conducta. Puedes impugnarlo como se describe en la política, indicando la referencia {reference}.",
      "barred-permanently": "Ya no puedes empezar una conversación, porque una conversación anterior incumplió la norma {id}, «{title}», de nuestra política de conducta. Puedes impugnarlo como se describe en la política, indicando la referencia {reference}.",
      "applies-until": "Esto se aplica hasta el {date}.",
      "applies-permanently": "Esto se aplica de forma permanente.",
      "error-invalid_email": "Eso no parece una dirección de correo electrónico, por ejemplo nombre@example.com.",
      "error-message_too_long": "tu mensaje es demasiado largo. Acórtalo, por favor.",
      "error-rate_limited": "Demasiadas conversaciones nuevas. Vuelve a intentarlo {when}.",
      "receipt-json": "Descargar el comprobante (JSON firmado)",
      "receipt-page": "Descargar el comprobante (página legible)",
      "receipt-kind-acceptance": "tu aceptación de la política de conducta",
      "receipt-kind-warning": "una advertencia que recibiste",
      "receipt-kind-closure": "el cierre de tu conversación",
      "receipt-title": "Comprobante de {kind}",
      "receipt-intro": "El servicio de chat firmó este comprobante con su clave Ed25519 (identificador {key_id}) al registrar el evento {seq} de la conversación {conversation}. El hash del evento, {hash}, abarca ese evento y todos los anteriores, de modo que cualquier cambio posterior en el registro de la conversación contradice este comprobante. Conserva el archivo JSON que lo acompaña: contiene la firma.",
      "receipt-signed": "Qué se firmó",
      "receipt-clause-title": "La norma citada",
      "receipt-clause": "Norma {id}, «{title}»:",
      "receipt-told": "Lo que se te comunicó",
      "receipt-policy-title": "La política que aceptaste: {title}, versión {version}",
      "receipt-policy-text": "Su SHA-256 es {sha256}. El texto completo, exactamente como se te mostró:",
      "receipt-check-title": "Cómo comprobarlo",
      "receipt-check": "Obtén la clave pública que publica el operador (por ejemplo en {keys} del servidor de chat) y después ejecuta {command} (añade {bundle} para comprobar que un paquete de pruebas contiene exactamente este evento), o compruébalo con cualquier herramienta Ed25519, por ejemplo OpenSSL 3:",
      "receipt-bytes": "Los bytes firmados son los campos del comprobante en JSON canónico (RFC 8785: claves ordenadas, sin espacios, UTF-8). La clave incluida en el comprobante es solo informativa: compárala con la clave que publica el operador.",
      "receipt-file": "El archivo del comprobante"
    },
    "ar": {
      "title": "تحدّث مع الدعم",
      "status-connecting": "جارٍ الاتصال…",
      "status-online": "متصل",
      "status-reconnecting": "جارٍ إعادة الاتصال…",
      "status-unavailable": "غير متاح",
      "status-waiting": "بانتظار أحد الموظفين",
      "status-away": "غير موجود حاليًا",
      "status-nobody": "لا أحد متصل",
      "close": "إغلاق المحادثة",
      "gate-intro": "قبل أن نبدأ المحادثة، يُرجى قراءة سياسة السلوك والموافقة عليها.",
      "policy-language": "لغة السياسة",
      "policy-meta": "الإصدار {version} · سارية منذ {effective}",
      "policy-text-label": "نص سياسة السلوك",
      "rules-title": "أهم القواعد",
      "read-full": "قراءة السياسة كاملة",
      "agree": "قرأتُ سياسة السلوك الإصدار {version} وأوافق عليها",
      "start": "ابدأ المحادثة",
      "affirm-full": "حدّد «{label}» وضغط «{button}» بعد أن فتح النص الكامل",
      "affirm-rules": "حدّد «{label}» وضغط «{button}»، وقد عُرضت عليه أهم القواعد والنص الكامل على بُعد نقرة واحدة",
      "policy-unverified": "تعذّر التحقق من نص السياسة. يُرجى إعادة تحميل الصفحة.",
      "policy-changed": "تغيّرت السياسة للتو. يُرجى قراءة الإصدار الجديد.",
      "language-unavailable": "السياسة غير متوفرة بهذه اللغة.",
      "unavailable-title": "المحادثة غير متاحة على هذا الموقع",
      "unavailable-text": "هذا الموقع غير مُعدّ لاستخدام خدمة المحادثة هذه. يُرجى التواصل مع الموقع بطريقة أخرى.",
      "messages": "الرسائل",
      "message": "الرسالة",
      "placeholder": "اكتب رسالتك…",
      "send": "إرسال",
      "offline": "أنت غير متصل بالإنترنت. سنعيد الاتصال ونرسل رسائلك في أقرب وقت ممكن.",
      "away-title-away": "فريقنا غير موجود حاليًا",
      "away-title-nobody": "لا أحد من فريقنا متصل حاليًا",
      "away-note": "{title}. بعد موافقتك على السياسة يمكنك ترك عنوان بريدك الإلكتروني، وسنرد عليك هناك.",
      "away-intro": "اترك عنوان بريدك الإلكتروني وسنرد عليك هناك. يُحفظ العنوان مع هذه المحادثة.",
      "away-email": "عنوان بريدك الإلكتروني",
      "away-send": "اترك بريدي الإلكتروني",
      "away-empty": "يُرجى إدخال عنوان بريدك الإلكتروني.",
      "away-thanks": "شكرًا لك. سنكتب إليك على {email}.",
      "contact-left": "تركتَ عنوان بريدك الإلكتروني {email}. سنرد عليك هناك.",
      "accepted": "وافقتَ على {title} الإصدار {version} في {time}. ",
      "download-policy": "تنزيل السياسة التي وافقتَ عليها",
      "policy-receipt": "إيصال الموافقة\nالسياسة: {title}، الإصدار {version}\nSHA-256: {sha256}\nتاريخ الموافقة: {at} (UTC)\nالمحادثة: {conversation}",
      "support": "الدعم",
      "an-agent": "أحد الموظفين",
      "joined": "انضم {name} إلى المحادثة.",
      "typing": "{name} يكتب…",
      "seen": "تمت المشاهدة",
      "sending": "جارٍ الإرسال…",
      "not-sent": "لم تُرسَل: {reason} ",
      "retry": "إعادة المحاولة",
      "erased": "(محذوفة)",
      "ended-reason": "انتهت المحادثة.",
      "warning-title": "تحذير من فريقنا",
      "notice-fallback": "استشهد فريقنا بالقاعدة {id}، «{title}»، من سياسة السلوك التي وافقتَ عليها (الإصدار {version}):",
      "note": "ملاحظة من فريقنا: {note}",
      "ended-title": "انتهت هذه المحادثة",
      "abandoned-text": "أُغلقت بعد أن غادرتَ المحادثة لبعض الوقت.",
      "resolved-title": "تم حل هذه المحادثة",
      "resolved-text": "شكرًا لتواصلك معنا.",
      "new-conversation": "بدء محادثة جديدة",
      "draft-title": "رسالتك التي لم تُرسَل",
      "draft-text": "لم تُرسَل هذه الرسالة. لا يزال بإمكانك تحديدها ونسخها.",
      "barred-title": "لا يمكنك بدء محادثة جديدة",
      "rule": "القاعدة {id}، «{title}»",
      "barred-until": "لا يمكنك بدء محادثة حتى {date}، لأن محادثة سابقة خالفت القاعدة {id}، «{title}»، من سياسة السلوك لدينا. يمكنك الاعتراض على ذلك كما تصف السياسة، مع ذكر المرجع {reference}.",
      "barred-permanently": "لم يعد بإمكانك بدء محادثة، لأن محادثة سابقة خالفت القاعدة {id}، «{title}»، من سياسة السلوك لدينا. يمكنك الاعتراض على ذلك كما تصف السياسة، مع ذكر المرجع {reference}.",
      "applies-until": "يسري هذا حتى {date}.",
      "applies-permanently": "يسري هذا بشكل دائم.",
      "error-invalid_email": "لا يبدو هذا عنوان بريد إلكتروني، مثل name@example.com.",
      "error-message_too_long": "رسالتك طويلة جدًا. يُرجى اختصارها.",
      "error-rate_limited": "محادثات جديدة كثيرة جدًا. يُرجى المحاولة مرة أخرى {when}.",
      "receipt-json": "تنزيل الإيصال (JSON موقّع)",
      "receipt-page": "تنزيل الإيصال (صفحة مقروءة)",
      "receipt-kind-acceptance": "موافقتك على سياسة السلوك",
      "receipt-kind-warning": "تحذير وُجّه إليك",
      "receipt-kind-closure": "إغلاق محادثتك",
      "receipt-title": "إيصال {kind}",
      "receipt-intro": "وقّعت خدمة المحادثة هذا الإيصال بمفتاحها Ed25519 (معرّف المفتاح {key_id}) عندما سجّلت الحدث {seq} من المحادثة {conversation}. تجزئة الحدث، {hash}، تشمل هذا الحدث وكل حدث قبله، لذا فإن أي تغيير لاحق في سجل المحادثة يتعارض مع هذا الإيصال. احتفظ بملف JSON المرفق به: فهو يحتوي على التوقيع.",
      "receipt-signed": "ما تم توقيعه",
      "receipt-clause-title": "القاعدة المستشهد بها",
      "receipt-clause": "القاعدة {id}، «{title}»:",
      "receipt-told": "ما قيل لك",
      "receipt-policy-title": "السياسة التي وافقتَ عليها: {title}، الإصدار {version}",
      "receipt-policy-text": "تجزئتها SHA-256 هي {sha256}. النص الكامل، تمامًا كما عُرض عليك:",
      "receipt-check-title": "كيف تتحقق منه",
      "receipt-check": "احصل على المفتاح العام الذي ينشره المشغّل (مثلًا من {keys} على خادم المحادثة)، ثم شغّل {command} (أضف {bundle} للتحقق من أن حزمة الأدلة تحتوي على هذا الحدث بعينه)، أو تحقّق منه بأي أداة Ed25519، مثل OpenSSL 3:",
      "receipt-bytes": "البايتات الموقّعة هي حقول الإيصال بصيغة JSON القانونية (RFC 8785: مفاتيح مرتبة، بلا مسافات، UTF-8). المفتاح الموجود داخل الإيصال للعلم فقط: قارنه بالمفتاح الذي ينشره المشغّل.",
      "receipt-file": "ملف الإيصال"
    },
    "he": {
      "title": "צ׳אט עם התמיכה",
      "status-connecting": "מתחבר…",
      "status-online": "מחובר",
      "status-reconnecting": "מתחבר מחדש…",
      "status-unavailable": "לא זמין",
      "status-waiting": "ממתין לנציג",
      "status-away": "לא זמינים כרגע",
      "status-nobody": "אף אחד לא מחובר",
      "close": "סגירת הצ׳אט",
      "gate-intro": "לפני שנתחיל, נא לקרוא את מדיניות ההתנהגות שלנו ולאשר אותה.",
      "policy-language": "שפת המדיניות",
      "policy-meta": "גרסה {version} · בתוקף מ־{effective}",
      "policy-text-label": "נוסח מדיניות ההתנהגות",
      "rules-title": "הכללים העיקריים",
      "read-full": "קריאת המדיניות המלאה",
      "agree": "קראתי את מדיניות ההתנהגות גרסה {version} ואני מסכים/ה לה",
      "start": "התחלת צ׳אט",
      "affirm-full": "סימן/ה „{label}” ולחץ/ה „{button}”, לאחר שפתח/ה את הנוסח המלא",
      "affirm-rules": "סימן/ה „{label}” ולחץ/ה „{button}”, כשהכללים העיקריים מוצגים והנוסח המלא במרחק לחיצה",
      "policy-unverified": "לא ניתן היה לאמת את נוסח המדיניות. נא לטעון מחדש את הדף.",
      "policy-changed": "המדיניות השתנתה זה עתה. נא לקרוא את הגרסה החדשה.",
      "language-unavailable": "המדיניות אינה זמינה בשפה זו.",
      "unavailable-title": "הצ׳אט אינו זמין באתר זה",
      "unavailable-text": "אתר זה אינו מוגדר לשימוש בשירות הצ׳אט הזה. נא לפנות לאתר בדרך אחרת.",
      "messages": "הודעות",
      "message": "הודעה",
      "placeholder": "הקלידו הודעה…",
      "send": "שליחה",
      "offline": "אין חיבור לרשת. נתחבר מחדש ונשלח את ההודעות שלך ברגע שנוכל.",
      "away-title-away": "הצוות שלנו אינו זמין כרגע",
      "away-title-nobody": "אף אחד מהצוות שלנו אינו מחובר כרגע",
      "away-note": "{title}. לאחר אישור המדיניות אפשר להשאיר כתובת דוא״ל, ונענה לך שם.",
      "away-intro": "השאירו כתובת דוא״ל ונענה לכם שם. הכתובת נשמרת עם השיחה הזו.",
      "away-email": "כתובת הדוא״ל שלך",
      "away-send": "השארת הדוא״ל שלי",
      "away-empty": "נא להזין כתובת דוא״ל.",
      "away-thanks": "תודה. נכתוב לך אל {email}.",
      "contact-left": "השארת את כתובת הדוא״ל {email}. נענה לך שם.",
      "accepted": "אישרת את {title} גרסה {version} בשעה {time}. ",
      "download-policy": "הורדת המדיניות שאישרת",
      "policy-receipt": "אישור הסכמה\nמדיניות: {title}, גרסה {version}\nSHA-256: {sha256}\nאושרה ב: {at} (UTC)\nשיחה: {conversation}",
      "support": "תמיכה",
      "an-agent": "נציג",
      "joined": "{name} הצטרף/ה לשיחה.",
      "typing": "{name} מקליד/ה…",
      "seen": "נצפה",
      "sending": "שולח…",
      "not-sent": "לא נשלח: {reason} ",
      "retry": "ניסיון חוזר",
      "erased": "(נמחק)",
      "ended-reason": "השיחה הסתיימה.",
      "warning-title": "אזהרה מהצוות שלנו",
      "notice-fallback": "הצוות שלנו ציטט את סעיף {id}, „{title}”, ממדיניות ההתנהגות שאישרת (גרסה {version}):",
      "note": "הערה מהצוות שלנו: {note}",
      "ended-title": "השיחה הזו הסתיימה",
      "abandoned-text": "היא נסגרה לאחר שעזבת את הצ׳אט לזמן מה.",
      "resolved-title": "השיחה הזו טופלה",
      "resolved-text": "תודה ששוחחת איתנו.",
      "new-conversation": "התחלת שיחה חדשה",
      "draft-title": "ההודעה שלא נשלחה",
      "draft-text": "היא לא נשלחה. עדיין אפשר לסמן ולהעתיק אותה.",
      "barred-title": "אין באפשרותך להתחיל שיחה חדשה",
      "rule": "סעיף {id}, „{title}”",
      "barred-until": "אין באפשרותך להתחיל שיחה עד {date}, כי שיחה קודמת הפרה את סעיף {id}, „{title}”, של מדיניות ההתנהגות שלנו. אפשר לערער על כך כמתואר במדיניות, בציון האסמכתה {reference}.",
      "barred-permanently": "אין באפשרותך עוד להתחיל שיחה, כי שיחה קודמת הפרה את סעיף {id}, „{title}”, של מדיניות ההתנהגות שלנו. אפשר לערער על כך כמתואר במדיניות, בציון האסמכתה {reference}.",
      "applies-until": "ההגבלה בתוקף עד {date}.",
      "applies-permanently": "ההגבלה בתוקף לצמיתות.",
      "error-invalid_email": "זו אינה נראית כמו כתובת דוא״ל, למשל name@example.com.",
      "error-message_too_long": "ההודעה ארוכה מדי. נא לקצר אותה.",
      "error-rate_limited": "יותר מדי שיחות חדשות. נא לנסות שוב {when}.",
      "receipt-json": "הורדת האישור (JSON חתום)",
      "receipt-page": "הורדת האישור (דף קריא)",
      "receipt-kind-acceptance": "הסכמתך למדיניות ההתנהגות",
      "receipt-kind-warning": "אזהרה שקיבלת",
      "receipt-kind-closure": "סגירת השיחה שלך",
      "receipt-title": "אישור על {kind}",
      "receipt-intro": "שירות הצ׳אט חתם על אישור זה במפתח Ed25519 שלו (מזהה מפתח {key_id}) כשרשם את אירוע {seq} בשיחה {conversation}. הגיבוב של האירוע, {hash}, מכסה את האירוע הזה ואת כל האירועים שלפניו, ולכן כל שינוי מאוחר ברשומת השיחה סותר אישור זה. שמרו את קובץ ה־JSON המצורף: הוא מכיל את החתימה.",
      "receipt-signed": "מה נחתם",
      "receipt-clause-title": "הסעיף שצוטט",
      "receipt-clause": "סעיף {id}, „{title}”:",
      "receipt-told": "מה נמסר לך",
      "receipt-policy-title": "המדיניות שאישרת: {title}, גרסה {version}",
      "receipt-policy-text": "ה־SHA-256 שלה הוא {sha256}. הנוסח המלא, בדיוק כפי שהוצג לך:",
      "receipt-check-title": "איך לבדוק אותו",
      "receipt-check": "השיגו את המפתח הציבורי שהמפעיל מפרסם (למשל מ־{keys} בשרת הצ׳אט), ואז הריצו {command} (הוסיפו {bundle} כדי לבדוק שחבילת ראיות מכילה בדיוק את האירוע הזה), או בדקו אותו בכל כלי Ed25519, למשל OpenSSL 3:",
      "receipt-bytes": "הבתים החתומים הם שדות האישור כ־JSON קנוני (RFC 8785: מפתחות ממוינים, ללא רווחים, UTF-8). המפתח שבתוך האישור הוא לידיעה בלבד: השוו אותו למפתח שהמפעיל מפרסם.",
      "receipt-file": "קובץ האישור"
    }
  } /* catalogues: end */;

  // Languages written right to left (their primary subtags).
  const RTL = new Set(["ar", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi"]);
  const primary = (tag) => String(tag).toLowerCase().split("-")[0];
  const direction = (tag) => (RTL.has(primary(tag)) ? "rtl" : "ltr");

  // BCP 47 lookup, as the server does it: the exact tag, else its primary subtag.
  function lookup(tag, available) {
    if (!tag) return null;
    const lower = String(tag).toLowerCase();
    return available.find((a) => a.toLowerCase() === lower)
      || available.find((a) => a.toLowerCase() === primary(tag)) || null;
  }

  const isObject = (value) => !!value && typeof value === "object" && !Array.isArray(value);

  // A site's overrides are text by message id; anything else is dropped, with one console warning.
  function strings(value, what) {
    if (isObject(value)) return Object.fromEntries(Object.entries(value).filter(([, text]) => typeof text === "string"));
    console.warn(`Parley widget: ${what} is not an object of message id to text; it is ignored.`);
    return {};
  }

  function jsonStrings(text, what) {
    try { return strings(JSON.parse(text), what); } catch { return strings(null, what); }
  }

  // The page's own strings for several languages: window.ParleyStrings = {"fr": {...}}.
  function pageStringsOf(value) {
    if (value === undefined) return {};
    if (!isObject(value)) return strings(null, "window.ParleyStrings");
    return Object.fromEntries(Object.entries(value)
      .map(([tag, texts]) => [tag, strings(texts, `window.ParleyStrings["${tag}"]`)]));
  }

  const pageStrings = pageStringsOf(window.ParleyStrings);
  // The site's strings for the UI language: data-i18n='{"send": "Envoyer"}' and data-i18n-send="Envoyer".
  const siteStrings = {
    ...(data.i18n === undefined ? {} : jsonStrings(data.i18n, "data-i18n")),
    ...Object.fromEntries([...((script && script.attributes) || [])]
      .filter((a) => a.name.startsWith("data-i18n-")).map((a) => [a.name.slice("data-i18n-".length), a.value])),
  };

  const languageKey = storageKey + ":language";
  const uiLanguages = () => [...Object.keys(CATALOGUES), ...Object.keys(pageStrings)];

  // The visitor's pick of a policy language, kept across reloads.
  function chosenLanguage() {
    try { return localStorage.getItem(languageKey); } catch { return null; }
  }

  // The UI language: the site's data-lang, else the visitor's pick, else the first of the browser's
  // languages there are words for, else English.
  function uiLanguage() {
    const available = uiLanguages();
    for (const tag of [data.lang, chosenLanguage(), ...(navigator.languages || [navigator.language])]) {
      const found = lookup(tag, available);
      if (found) return found;
    }
    return "en";
  }

  let language = uiLanguage();

  // The text of message ``id`` in the UI language, its {placeholders} filled from ``vars``.
  function t(id, vars = {}) {
    const page = pageStrings[lookup(language, Object.keys(pageStrings))] || {};
    const catalogue = CATALOGUES[lookup(language, Object.keys(CATALOGUES))] || {};
    const text = [siteStrings, page, catalogue, CATALOGUES.en].find((texts) => id in texts)[id];
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in vars ? String(vars[name]) : all));
  }

  // A language's name in that language, e.g. "Deutsch", "français", "العربية".
  function languageName(tag) {
    try { return new Intl.DisplayNames([tag], { type: "language" }).of(tag) || tag; } catch { return tag; }
  }

  // A wait in words of the UI language: "in 45 seconds", "dans 12 minutes", "in 2 Stunden".
  function inTime(seconds) {
    const say = new Intl.RelativeTimeFormat(language, { numeric: "auto" });
    if (seconds < 90) return say.format(Math.ceil(seconds), "second");
    if (seconds < 5400) return say.format(Math.ceil(seconds / 60), "minute");
    return say.format(Math.ceil(seconds / 3600), "hour");
  }

  // What the visitor is told of a refusal: the widget's words for the codes it knows (they are what a
  // visitor can fix), else the server's own message.
  const refusal = (f) => (`error-${f.code}` in CATALOGUES.en
    ? t(`error-${f.code}`, { when: inTime(f.retry_after || 0) }) : f.message);

  // Message ``id`` as parts for h(): text, with each placeholder whose value is a node put in as that node.
  function tParts(id, vars) {
    const marked = Object.fromEntries(Object.keys(vars).map((name) => [name, `\u0000${name}\u0000`]));
    return t(id, marked).split("\u0000").map((part, i) => (i % 2 ? vars[part] : part));
  }

  // Chrome built once (the panel, its labels): h() puts a Msg in as text or as an attribute and
  // rewrites it when the UI language changes. What is shown later is built with t() when shown.
  class Msg {
    constructor(id) { this.id = id; }
    toString() { return t(this.id); }
  }
  const m = (id) => new Msg(id);
  const relabels = [];

  const settings = {
    server,
    socket: server.replace(/^http/, "ws") + "/ws/visitor",
    title: data.title || null, // the site's own title, in its language; else the catalogue's
    side: data.side === "left" ? "left" : "right",
  };

  const STYLES = `
/* The page's rules can match the host element; only !important declarations from inside the
   shadow root outrank them (even the page's own !important ones), so the host is set here in full. */
:host { all: initial !important; position: fixed !important;
  bottom: 16px !important; z-index: 2147483000 !important; direction: ltr !important;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif !important; color: #1f2328 !important; }
/* Right to left (ar, he...): everything inside mirrors through logical properties (inline-start/end);
   the corner stays the one the site chose with data-side, as the page's layout does not mirror. */
:host([dir="rtl"]) { direction: rtl !important; }
:host([data-side="right"]) { right: 16px !important; } :host([data-side="left"]) { left: 16px !important; }
* { box-sizing: border-box; }
button, input, textarea { font: inherit; }
:focus-visible { outline: 3px solid #0b63ce; outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.launcher { display: flex; gap: 8px; align-items: center; border: 0; border-radius: 999px; padding: 12px 18px;
  background: #0b63ce; color: #fff; font-weight: 600; cursor: pointer; box-shadow: 0 4px 14px rgb(0 0 0 / .25); }
.launcher .badge { background: #fff; color: #0b63ce; border-radius: 999px; padding: 0 7px; font-size: 13px; }
.panel { position: absolute; bottom: 0; width: min(380px, calc(100vw - 32px)); height: min(600px, calc(100vh - 32px));
  display: flex; flex-direction: column; background: #fff; border-radius: 12px; overflow: hidden;
  box-shadow: 0 10px 40px rgb(0 0 0 / .3); }
:host([data-side="right"]) .panel { right: 0; } :host([data-side="left"]) .panel { left: 0; }
.panel[hidden], [hidden] { display: none !important; }
.panel:focus { outline: none; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: #0b63ce; color: #fff; }
header h2 { flex: 1; margin: 0; font-size: 16px; }
.status { font-size: 12px; opacity: .9; }
.close { border: 0; background: transparent; color: #fff; font-size: 22px; line-height: 1; cursor: pointer; padding: 2px 8px; border-radius: 6px; }
.body { flex: 1; overflow-y: auto; padding: 12px 14px; display: flex; flex-direction: column; gap: 10px; }
.gate h3 { margin: 4px 0 0; font-size: 16px; } .meta { margin: 0; color: #57606a; font-size: 13px; }
.policy-text { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid #d0d7de; border-radius: 8px; padding: 10px;
  max-height: 260px; overflow-y: auto; background: #f6f8fa; font-size: 13px; margin: 8px 0; }
.agree { display: flex; gap: 8px; align-items: flex-start; margin: 8px 0; }
.agree input { width: 18px; height: 18px; margin-top: 2px; flex: none; }
.primary { border: 0; border-radius: 8px; padding: 10px 16px; background: #0b63ce; color: #fff; font-weight: 600; cursor: pointer; }
.primary:disabled { background: #8c959f; cursor: not-allowed; }
.log { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.visitor { align-self: flex-end; background: #0b63ce; color: #fff; border-end-end-radius: 4px; }
.msg.agent { align-self: flex-start; background: #eaeef2; border-end-start-radius: 4px; }
.msg .who, .msg .state { display: block; font-size: 12px; opacity: .85; }
.msg.failed { background: #ffebe9; color: #82071e; }
.name { display: inline-block; max-width: 20em; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: bottom; }
.ctl { font-family: ui-monospace, monospace; font-size: .85em; }
.retry { margin-inline-start: 4px; border: 1px solid #82071e; border-radius: 6px; padding: 1px 8px; background: #fff;
  color: #82071e; font-size: 12px; font-weight: 600; cursor: pointer; }
.system { align-self: center; text-align: center; color: #57606a; font-size: 13px; }
.system a { color: #0b63ce; }
.msg.visitor a { color: #fff; } .msg.agent a { color: #0550ae; }
.notice { border: 1px solid #d4a72c; background: #fff8c5; border-radius: 8px; padding: 10px 12px; }
.notice h3 { margin: 0 0 6px; font-size: 15px; }
.notice blockquote, .warning blockquote { margin: 8px 0; padding: 6px 10px; border-inline-start: 3px solid #d4a72c; background: #fff; white-space: pre-wrap; }
.notice-text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 8px; }
.barred { border-color: #cf222e; background: #ffebe9; }
.barred blockquote { border-inline-start-color: #cf222e; }
.barred b { display: block; }
.warning { border: 1px solid #d4a72c; border-inline-start-width: 4px; background: #fff8c5; border-radius: 8px; padding: 8px 12px; font-size: 14px; }
.warning h3 { margin: 0 0 4px; font-size: 14px; color: #7d4e00; }
.error { color: #82071e; font-size: 13px; }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #d0d7de; }
textarea { flex: 1; resize: none; height: 44px; border: 1px solid #8c959f; border-radius: 8px; padding: 8px; }
textarea:disabled { background: #f6f8fa; }
.banner { margin: 0; padding: 8px 14px; background: #ffebe9; color: #82071e; border-bottom: 1px solid #cf222e; font-size: 13px; font-weight: 600; }
.away { border: 1px solid #8c959f; border-radius: 8px; padding: 10px 12px; background: #f6f8fa; display: flex; flex-direction: column; gap: 6px; }
.away h3 { margin: 0; font-size: 15px; } .away p { margin: 0; font-size: 13px; }
.away input { border: 1px solid #8c959f; border-radius: 8px; padding: 8px; font-size: 16px; }
.away-note { margin: 0; padding: 8px 10px; border-radius: 8px; background: #f6f8fa; color: #1f2328; font-size: 13px; }
.rules:focus { outline: none; }
.rules h4 { margin: 8px 0 4px; font-size: 14px; }
.rules ol { margin: 0; padding-inline-start: 1.6em; font-size: 14px; }
.languages { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; font-size: 14px; }
.languages select { font: inherit; padding: 4px 6px; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: inherit; }
.full-policy summary { cursor: pointer; color: #0b63ce; font-weight: 600; padding: 4px 0; width: fit-content; }
.draft h4 { margin: 10px 0 4px; font-size: 14px; }
.draft p { margin: 0 0 6px; font-size: 13px; }
.draft textarea { width: 100%; height: auto; min-height: 64px; background: #fff; }
/* Faded, the time under a visitor's own message fell below 4.5:1 on the blue. */
.msg.visitor .state { opacity: 1; }
/* A phone: the panel takes the whole screen; inputs at 16 px, or iOS zooms in on focus; every
   target at least 24 px (WCAG 2.5.8). */
@media (max-width: 480px) {
  .panel { position: fixed; inset: 0; width: 100%; height: 100%; border-radius: 0; }
  input, textarea { font-size: 16px; }
  .agree input { width: 24px; height: 24px; margin-top: 0; }
  button, summary, select, .system a { min-height: 24px; min-width: 24px; }
  .system a { display: inline-block; line-height: 24px; }
}
.typing { min-height: 1.4em; margin: 0; padding: 0 14px 4px; color: #57606a; font-size: 13px; font-style: italic; }
.msg .seen { display: block; font-size: 12px; opacity: .85; }
.receipt-links { display: block; margin-top: 4px; font-size: 13px; }
.receipt-links a { display: inline-block; color: #0550ae; margin-inline-end: 10px; }
@media (max-width: 480px) { .receipt-links a { min-height: 24px; line-height: 24px; } }
`;

  // Build DOM from data only: strings always become text nodes.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") el.className = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (value instanceof Msg) {
        const set = () => el.setAttribute(key, String(value));
        set();
        relabels.push(set);
      }
      else if (value === true) el.setAttribute(key, "");
      else if (value !== false && value != null) el.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child == null) continue;
      const node = child instanceof Node ? child : document.createTextNode(String(child));
      if (child instanceof Msg) relabels.push(() => { node.data = String(child); });
      el.append(node);
    }
    return el;
  }

  // Characters that hide or reorder text (bidi overrides and isolates, zero-width and control
  // characters), the set the evidence document shows as [U+XXXX] (parley/evidence/markup.py).
  const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/g;

  const control = (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}]`;

  // Text someone else wrote: its invisible characters shown as [U+XXXX], inside a <bdi> so its
  // direction cannot reorder what follows it.
  function said(text, attrs) {
    const parts = [];
    let from = 0;
    for (const m of text.matchAll(INVISIBLE)) {
      parts.push(text.slice(from, m.index), h("span", { class: "ctl" }, control(m[0])));
      from = m.index + 1;
    }
    parts.push(text.slice(from));
    return h("bdi", attrs, parts);
  }

  const LINK = /\bhttps?:\/\/[^\s<>"'\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+/gi;

  // Someone's text with its http and https addresses as links that open in a new tab,
  // giving the page opened neither this window nor where it came from.
  function linked(text, attrs) {
    const parts = [];
    let from = 0;
    for (const m of text.matchAll(LINK)) {
      const shown = m[0].replace(/[.,;:!?)\]]+$/, "");
      let url = null;
      try { url = new URL(shown); } catch { continue; }
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      parts.push(said(text.slice(from, m.index)),
        h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow" }, said(shown)));
      from = m.index + shown.length;
    }
    parts.push(said(text.slice(from)));
    return h("bdi", attrs, parts);
  }

  // A staff name: on one line, cut with an ellipsis when long, whole in its tooltip.
  const named = (name) => said(name, { class: "name", title: name.replace(INVISIBLE, control) });

  // Dates and times in the UI language, with the visitor's own conventions when they speak it
  // (en-GB: "3 December"; en-US: "December 3").
  const dateLocale = () => [Intl.DateTimeFormat().resolvedOptions().locale, ...(navigator.languages || [])]
    .find((tag) => primary(tag) === primary(language)) || language;
  // A moment in the visitor's own zone, named, e.g. "Thursday 3 December 2026 at 15:00 CET".
  const localDate = (at) => new Intl.DateTimeFormat(dateLocale(), { weekday: "long", year: "numeric", month: "long",
    day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).format(new Date(at));
  const time = (at) => new Intl.DateTimeFormat(dateLocale(), { hour: "2-digit", minute: "2-digit" }).format(new Date(at));
  // A policy's effective date (a day, the same everywhere), e.g. "1 December 2026".
  const day = (at) => new Intl.DateTimeFormat(dateLocale(), { dateStyle: "long", timeZone: "UTC" }).format(new Date(at));
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));

  async function sha256(text) {
    if (!(window.crypto && crypto.subtle)) return null; // not a secure context: trust the offer
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // What the acceptance record keeps about the visitor's browser.
  function clientFacts() {
    let zone = null;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || null; } catch { zone = null; }
    // Where this script came from, and the integrity it was checked against: which build ran.
    const integrity = (script && script.integrity) || null;
    return { locale: navigator.language || null, time_zone: zone,
      page_url: location.href.slice(0, 512), widget_build: BUILD,
      script_url: script && script.src ? script.src.slice(0, 2048) : null,
      integrity: integrity && integrity.length <= 200 ? integrity : null };
  }

  const openKey = storageKey + ":open";

  // sessionStorage: a reload finds the panel as it was; a new tab starts with it closed.
  function wasOpen() {
    try { return sessionStorage.getItem(openKey) === "1"; } catch { return false; }
  }

  function keepOpen(show) {
    try { sessionStorage.setItem(openKey, show ? "1" : "0"); } catch { /* storage refused: not kept */ }
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(storageKey)) || {}; } catch { return {}; }
  }

  // The visitor's signed receipts (docs/protocol.md §3.5), kept per conversation.
  const receiptsKey = storageKey + ":receipts";

  function loadReceipts() {
    try { return JSON.parse(localStorage.getItem(receiptsKey)) || {}; } catch { return {}; }
  }

  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  // Message ``id`` as HTML: its text escaped, each placeholder filled with the HTML given.
  const tHtml = (id, html = {}) => tParts(id, Object.fromEntries(Object.entries(html).map(([k, v]) => [k, { html: v }])))
    .map((part) => (typeof part === "string" ? escape(part) : part.html)).join("");
  // The lang and dir attributes of text in language ``tag``.
  const langAttrs = (tag) => `lang="${escape(tag)}" dir="${direction(tag)}"`;

  // A page that reads without Parley: the signed fields, what they refer to, the accepted text,
  // and how anyone can check the signature. The JSON file is what is checked; this page explains it.
  // Its own words are in the UI language; the policy's words in the language accepted.
  function receiptPage(signed, event, acceptance) {
    const r = signed.receipt;
    const rows = Object.keys(r).sort().map((k) => `<tr><th scope="row">${escape(k)}</th><td>${escape(r[k])}</td></tr>`);
    const quoted = acceptance ? langAttrs(acceptance.data.language || "en") : "";
    const clause = event && event.data.clause
      ? `<h2>${tHtml("receipt-clause-title")}</h2><p>${tHtml("receipt-clause",
        { id: `<bdi>${escape(event.data.clause.id)}</bdi>`, title: `<bdi ${quoted}>${escape(event.data.clause.title)}</bdi>` })}</p>` +
        `<blockquote ${quoted}>${escape(event.data.clause.text)}</blockquote>` +
        (event.data.notice ? `<h2>${tHtml("receipt-told")}</h2><pre ${quoted}>${escape(event.data.notice)}</pre>` : "")
      : "";
    const policy = acceptance && acceptance.data.sha256 === (r.text_sha256 || acceptance.data.sha256)
      ? `<h2>${tHtml("receipt-policy-title", { title: `<bdi ${quoted}>${escape(acceptance.data.title)}</bdi>`,
        version: escape(acceptance.data.version) })}</h2>` +
        `<p>${tHtml("receipt-policy-text", { sha256: escape(acceptance.data.sha256) })}</p>` +
        `<pre ${quoted}>${escape(acceptance.data.text)}</pre>`
      : "";
    const title = tHtml("receipt-title", { kind: tHtml(`receipt-kind-${r.kind}`) });
    const code = (text) => `<code dir="ltr">${text}</code>`;
    return `<!doctype html>
<html ${langAttrs(language)}><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#1f2328}
pre,blockquote{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;border:1px solid #d0d7de;padding:.75em}
pre.commands{direction:ltr;text-align:left}
table{border-collapse:collapse}th,td{text-align:start;vertical-align:top;padding:.2em .6em;border-bottom:1px solid #d0d7de;overflow-wrap:anywhere}
code{background:#f6f8fa}</style></head><body>
<h1>${title}</h1>
<p>${tHtml("receipt-intro", { key_id: `<bdi>${escape(r.key_id)}</bdi>`, seq: escape(r.event_seq),
    conversation: `<bdi>${escape(r.conversation_id)}</bdi>`, hash: `<bdi>${escape(r.event_hash)}</bdi>` })}</p>
<h2>${tHtml("receipt-signed")}</h2><table dir="ltr">${rows.join("")}<tr><th scope="row">signature</th><td>${escape(signed.signature)}</td></tr></table>
${clause}${policy}
<h2>${tHtml("receipt-check-title")}</h2>
<p>${tHtml("receipt-check", { keys: code("/api/keys"),
    command: code("parley evidence verify-receipt receipt.json --public-key KEY"), bundle: code("--bundle evidence.json") })}</p>
<pre class="commands">jq -cjS .receipt receipt.json &gt; signed.json
jq -r .signature receipt.json | base64 -d &gt; signature.bin
(printf '\\060\\052\\060\\005\\006\\003\\053\\145\\160\\003\\041\\000'; echo KEY | base64 -d) &gt; key.der
openssl pkeyutl -verify -pubin -inkey key.der -keyform DER -rawin -in signed.json -sigfile signature.bin</pre>
<p>${tHtml("receipt-bytes")}</p>
<h2>${tHtml("receipt-file")}</h2><pre dir="ltr">${escape(JSON.stringify(signed, null, 2))}</pre>
</body></html>
`;
  }

  class Widget {
    constructor() {
      const saved = load();
      this.token = saved.token || null;
      this.outbox = new Map(saved.outbox || []); // client_id -> text, until acked
      this.conversation = null;
      this.lastSeq = 0;
      this.policy = null;
      this.ended = null; // the closed/resolved event of the current conversation
      this.barred = null; // the barred frame, while this visitor may not start a conversation
      this.draft = null; // what the visitor was typing when the conversation ended
      this.unread = 0;
      this.retries = 0;
      this.held = null; // while set, a timer: the server asked us to wait before sending again
      this.storeRetries = 0; // unavailable answers in a row, for the backoff
      this.ws = null;
      this.team = null; // "available", "away" or "offline", once the server has said
      this.agentJoined = false; // an agent joined the conversation shown
      this.contactId = null; // the client_id of the e-mail left in away mode, until acknowledged
      this.awaitingPong = false;
      this.lastInput = Date.now();
      this.receipts = loadReceipts(); // conversation id -> event seq -> signed receipt
      this.receiptEvents = new Map(); // event seq -> the event a receipt is of (current conversation)
      this.render();
      this.renderPresence();
      this.watchActivity();
      if (wasOpen()) this.open(true, false);
      this.connect();
    }

    save() {
      localStorage.setItem(storageKey, JSON.stringify({ token: this.token, outbox: [...this.outbox] }));
    }

    // ---- view -------------------------------------------------------------

    render() {
      const host = (this.host = h("div", { id: "parley-widget", "data-side": settings.side }));
      const root = host.attachShadow({ mode: "open" });
      if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLES);
        root.adoptedStyleSheets = [sheet];
      } else {
        root.append(h("style", {}, STYLES));
      }
      const v = (this.view = {});
      v.badge = h("span", { class: "badge", hidden: true });
      v.launcher = h("button", { class: "launcher", id: "launcher", "aria-expanded": "false",
        "aria-controls": "panel", onclick: () => this.open(true) }, settings.title || m("title"), v.badge);
      v.status = h("span", { class: "status", id: "status", role: "status" });
      v.policyTitle = h("h3", { id: "policy-title" });
      v.policyMeta = h("p", { class: "meta", id: "policy-meta" });
      v.policyText = h("div", { class: "policy-text", id: "policy-text", tabindex: "0",
        role: "region", "aria-label": m("policy-text-label") });
      v.rulesList = h("ol", { id: "policy-rules" });
      v.rules = h("div", { class: "rules", id: "rules", tabindex: "-1", role: "region", "aria-labelledby": "rules-title" },
        h("h4", { id: "rules-title" }, m("rules-title")), v.rulesList);
      v.fullPolicy = h("details", { class: "full-policy", id: "full-policy",
        ontoggle: () => { if (v.fullPolicy.open) this.readFull = true; } },
        h("summary", { id: "full-policy-toggle" }, m("read-full")), v.policyText);
      v.agree = h("input", { type: "checkbox", id: "agree", onchange: () => this.updateStart() });
      v.agreeLabel = h("span", {});
      v.start = h("button", { class: "primary", id: "start", type: "button", disabled: true,
        onclick: () => this.accept() }, m("start"));
      v.gateError = h("p", { class: "error", role: "alert" });
      // The policy's other languages, when it has some (docs/protocol.md, the language frame).
      v.languages = h("select", { id: "policy-language", onchange: () => this.chooseLanguage(v.languages.value) });
      v.languagePicker = h("div", { class: "languages", hidden: true },
        h("label", { for: "policy-language" }, m("policy-language")), v.languages);
      v.gate = h("div", { class: "gate", id: "gate", hidden: true },
        h("p", {}, m("gate-intro")), v.languagePicker,
        v.policyTitle, v.policyMeta, v.rules, v.fullPolicy,
        h("label", { class: "agree" }, v.agree, v.agreeLabel), v.start, v.gateError);
      v.notice = h("div", { class: "notice", id: "notice", role: "alert", hidden: true, tabindex: "-1" });
      v.barred = h("div", { class: "notice barred", id: "barred", role: "alert", hidden: true, tabindex: "-1" });
      v.unavailable = h("div", { class: "notice", id: "unavailable", role: "alert", hidden: true, tabindex: "-1" },
        h("h3", {}, m("unavailable-title")), h("p", {}, m("unavailable-text")));
      v.log = h("ol", { class: "log", id: "log" });
      // The live region wraps the list: role="log" on the <ol> itself would orphan its <li>s.
      v.transcript = h("div", { id: "transcript", role: "log", "aria-live": "polite", "aria-label": m("messages") }, v.log);
      v.input = h("textarea", { id: "message", maxlength: MAX_CHARS, disabled: true,
        placeholder: m("placeholder"), onkeydown: (e) => this.onKey(e) });
      v.send = h("button", { class: "primary", id: "send", type: "submit", disabled: true }, m("send"));
      // Polite and always present: it is announced when someone starts typing, not on each refresh.
      v.typing = h("p", { class: "typing", id: "typing", role: "status", "aria-live": "polite" });
      v.input.addEventListener("input", () => this.onTyping());
      v.form = h("form", { onsubmit: (e) => { e.preventDefault(); this.sendMessage(); } },
        h("label", { class: "sr-only", for: "message" }, m("message")), v.input, v.send);
      v.body = h("div", { class: "body" }, v.gate, v.transcript, v.notice, v.barred, v.unavailable);
      v.panel = h("section", { class: "panel", id: "panel", role: "dialog", "aria-label": settings.title || m("title"),
        hidden: true, tabindex: "-1", onkeydown: (e) => { if (e.key === "Escape") this.open(false); } },
        h("header", {}, h("h2", {}, settings.title || m("title")), v.status,
          h("button", { class: "close", id: "close", type: "button", "aria-label": m("close"),
            onclick: () => this.open(false) }, "×")),
        v.body, v.typing, v.form);
      root.append(v.launcher, v.panel);
      this.root = root;
      this.setStatus("status-connecting");
      this.showLanguage();
      document.body.append(host);
    }

    // The widget root says its language and direction; the layout mirrors by itself (logical CSS).
    showLanguage() {
      this.host.lang = language;
      this.host.dir = direction(language);
    }

    // The visitor picks a policy language: ask the server for that offer, keep the pick, and
    // speak it too (unless the site set the widget's language).
    chooseLanguage(tag) {
      try { localStorage.setItem(languageKey, tag); } catch { /* storage refused: this page keeps it */ }
      this.view.gateError.textContent = "";
      this.send({ type: "language", language: tag });
      const ui = uiLanguage();
      if (ui === language) return;
      language = ui;
      this.showLanguage();
      for (const apply of relabels) apply();
      this.setStatus(this.statusId);
      this.showTeam();
      if (this.policy && !this.view.gate.hidden) this.showGate(this.policy);
    }

    // ``focus`` false: reopened by a reload, which must not take the page's focus.
    open(show, focus = true) {
      const v = this.view;
      v.panel.hidden = !show;
      v.launcher.hidden = show;
      v.launcher.setAttribute("aria-expanded", String(show));
      keepOpen(show);
      if (!focus) return;
      if (show) {
        this.unread = 0;
        v.badge.hidden = true;
        this.focusIn();
        this.markRead();
      } else {
        v.launcher.focus();
      }
    }

    // Focus what the visitor can act on or must read; the panel itself until the server has said.
    focusIn() {
      const v = this.view;
      const target = !v.input.disabled ? v.input : !v.gate.hidden ? v.rules : !v.unavailable.hidden ? v.unavailable : !v.notice.hidden ? v.notice
        : !v.barred.hidden ? v.barred : v.panel;
      this.awaiting = target === v.panel;
      target.focus();
    }

    setStatus(id) {
      this.statusId = id;
      this.view.status.textContent = t(id);
    }

    setChatEnabled(enabled) {
      this.view.input.disabled = !enabled;
      this.view.send.disabled = !enabled;
    }

    scrollDown() { this.view.body.scrollTop = this.view.body.scrollHeight; }

    showGate(policy) {
      const v = this.view;
      // The policy's own words carry its language and direction: an English text in an Arabic UI reads LTR.
      const tag = policy.language || "en";
      for (const el of [v.policyTitle, v.rulesList, v.policyText]) {
        el.lang = tag;
        el.dir = direction(tag);
      }
      v.policyTitle.textContent = policy.title;
      v.policyMeta.textContent = t("policy-meta", { version: policy.version, effective: day(policy.effective) });
      v.policyText.textContent = policy.text;
      v.rulesList.replaceChildren(...policy.clauses.map((c) => h("li", {}, said(c.title))));
      this.showLanguages(policy);
      v.fullPolicy.open = false;
      this.readFull = false;
      v.agreeLabel.textContent = t("agree", { version: policy.version });
      v.agree.checked = false;
      v.gateError.textContent = "";
      v.gate.hidden = false;
      v.transcript.hidden = true;
      v.notice.hidden = true;
      v.barred.hidden = true;
      v.form.hidden = true;
      this.updateStart();
    }

    // The policy's languages, each named in itself ("Deutsch", "français"), when there is a choice.
    showLanguages(policy) {
      const v = this.view;
      const tags = policy.languages || [];
      v.languagePicker.hidden = tags.length < 2;
      v.languages.replaceChildren(...tags.map((tag) => h("option", { value: tag, lang: tag, dir: direction(tag) },
        languageName(tag))));
      v.languages.value = policy.language;
    }

    showChat() {
      const v = this.view;
      v.notice.hidden = v.barred.hidden = true;
      v.gate.hidden = true;
      v.transcript.hidden = false;
      v.form.hidden = false;
      this.setChatEnabled(true);
    }

    updateStart() { this.view.start.disabled = !(this.view.agree.checked && this.policy); }

    // ---- connection -------------------------------------------------------

    connect() {
      const ws = (this.ws = new WebSocket(settings.socket));
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.retries = 0;
        this.askedLanguage = null;
        this.setStatus("status-online");
        this.startHeartbeat(ws);
        const hello = { type: "hello", token: this.token, client: clientFacts(), presence: true };
        if (this.conversation) hello.resume = { conversation_id: this.conversation.id, last_seq: this.lastSeq };
        ws.send(JSON.stringify(hello));
      };
      ws.onmessage = (e) => this.onFrame(JSON.parse(e.data));
      ws.onclose = async () => {
        if (this.ws !== ws) return;
        if (!opened && await this.refused()) { this.showUnavailable(); return; }
        this.setStatus("status-reconnecting");
        this.showOffline(true);
        const delay = Math.min(10000, 500 * 2 ** this.retries++) * (0.5 + Math.random() / 2);
        setTimeout(() => this.connect(), delay);
      };
    }

    // A socket that never opened may have been refused for this page's origin; the browser
    // hides the 403, so ask the server. Unreachable, or any other answer: not refused.
    async refused() {
      try {
        const answer = await fetch(`${settings.server}/api/widget/status`, { credentials: "omit", cache: "no-store" });
        return answer.ok && (await answer.json()).allowed === false;
      } catch {
        return false;
      }
    }

    // Refused for good: say so, and stop retrying.
    showUnavailable() {
      const v = this.view;
      this.setStatus("status-unavailable");
      v.gate.hidden = v.transcript.hidden = v.notice.hidden = v.barred.hidden = v.form.hidden = true;
      v.unavailable.hidden = false;
      if (this.awaiting && this.root.activeElement === v.panel) { this.awaiting = false; v.unavailable.focus(); }
    }

    send(frame) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
    }

    onFrame(frame) {
      const handler = this.handlers[frame.type];
      if (handler) handler.call(this, frame);
      if (this.awaiting) { // opened before the server had said what to show: focus it once it has
        this.awaiting = false;
        if (this.root.activeElement === this.view.panel) this.focusIn();
      }
    }

    // ---- presence ---------------------------------------------------------

    // The offline banner, the away-mode e-mail form and, at the gate, a note that nobody is there.
    renderPresence() {
      const v = this.view;
      v.banner = h("p", { class: "banner", id: "offline-banner", role: "alert", hidden: true }, m("offline"));
      v.awayEmail = h("input", { type: "email", id: "away-email", autocomplete: "email", maxlength: 254,
        onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); this.leaveContact(); } } });
      v.awayError = h("p", { class: "error", id: "away-error", role: "alert" });
      v.awayDone = h("p", { id: "away-done", role: "status" });
      v.awayTitle = h("h3", { id: "away-title" });
      v.away = h("section", { class: "away", id: "away", "aria-labelledby": "away-title", hidden: true },
        v.awayTitle,
        h("p", {}, m("away-intro")), h("label", { for: "away-email" }, m("away-email")), v.awayEmail,
        h("button", { class: "primary", id: "away-send", type: "button", onclick: () => this.leaveContact() },
          m("away-send")), v.awayError, v.awayDone);
      v.awayNote = h("p", { class: "away-note", id: "away-note", hidden: true });
      v.panel.insertBefore(v.banner, v.body);
      v.body.append(v.away);
      v.gate.prepend(v.awayNote);
    }

    // Input or a visible page counts as activity; an untouched or hidden page is idle.
    watchActivity() {
      const seen = () => { this.lastInput = Date.now(); };
      for (const type of ["keydown", "pointerdown", "scroll"]) document.addEventListener(type, seen, { passive: true });
      document.addEventListener("visibilitychange", () => { if (!document.hidden) seen(); this.heartbeat(); });
      window.addEventListener("offline", () => this.showOffline(true));
      // Back online: a heartbeat's pong shows the line works (or the next beat reconnects).
      window.addEventListener("online", () => { this.awaitingPong = true; this.heartbeat(); });
    }

    idle() { return document.hidden || Date.now() - this.lastInput > IDLE_MS; }

    // Every HEARTBEAT_MS: say whether the visitor is idle. The server answers a heartbeat with a
    // pong; one unanswered by the next beat means the line is dead even if the socket has not
    // noticed: show it, and reconnect.
    startHeartbeat(ws) {
      clearInterval(this.beat);
      this.awaitingPong = false;
      this.beat = setInterval(() => {
        if (this.ws !== ws) { clearInterval(this.beat); return; }
        if (this.awaitingPong) { this.showOffline(true); ws.close(); return; }
        this.awaitingPong = true;
        this.heartbeat();
      }, HEARTBEAT_MS);
    }

    heartbeat() { this.send({ type: "heartbeat", idle: this.idle() }); }

    showOffline(offline) { this.view.banner.hidden = !offline; }

    // The status line and away mode follow the team's state and this conversation's.
    showTeam() {
      const v = this.view;
      const team = this.team;
      if (!team || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      const open = !!this.conversation && this.conversation.state === "open" && !this.ended;
      if (open && this.agentJoined) this.setStatus("status-online");
      else if (team === "available") this.setStatus(open ? "status-waiting" : "status-online");
      else this.setStatus(team === "away" ? "status-away" : "status-nobody");
      const away = team !== "available" && !this.agentJoined && !this.barred;
      const title = t(team === "away" ? "away-title-away" : "away-title-nobody");
      v.awayTitle.textContent = title;
      v.away.hidden = !(away && open);
      v.awayNote.textContent = t("away-note", { title });
      v.awayNote.hidden = !away;
    }

    leaveContact() {
      const v = this.view;
      const email = v.awayEmail.value.trim();
      v.awayError.textContent = "";
      if (!email) { v.awayError.textContent = t("away-empty"); return; }
      this.contactId = newId();
      this.send({ type: "contact", client_id: this.contactId, email });
    }

    // ---- actions ----------------------------------------------------------

    async accept() {
      const policy = this.policy;
      const v = this.view;
      v.start.disabled = true;
      // The digest of exactly what is displayed: a changed text cannot be accepted by mistake.
      const digest = (await sha256(v.policyText.textContent)) || policy.sha256;
      if (digest !== policy.sha256) {
        v.gateError.textContent = t("policy-unverified");
        return;
      }
      // What the visitor did, in their words: the full text is one click away, so say whether it was opened.
      // Cut to the 300 characters the protocol allows, however long a site's own words make it.
      const affirmation = [...t(this.readFull ? "affirm-full" : "affirm-rules",
        { label: v.agreeLabel.textContent, button: v.start.textContent })].slice(0, 300).join("");
      const accept = { type: "accept", policy_id: policy.policy_id, version: policy.version, sha256: digest, affirmation };
      if (policy.language) accept.language = policy.language; // the digest is of the text in this language
      this.send(accept);
    }

    onKey(e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.sendMessage(); }
    }

    sendMessage() {
      const text = this.view.input.value.trim();
      if (!text || !this.conversation) return;
      const clientId = newId();
      this.outbox.set(clientId, text);
      this.save();
      this.view.log.append(this.bubble({ role: "visitor" }, text, clientId, t("sending")));
      this.scrollDown();
      this.view.input.value = "";
      this.stopTyping();
      if (!this.held) this.send({ type: "message", client_id: clientId, text });
    }

    resendOutbox() {
      if (this.held) return; // the timer resends it
      for (const [clientId, text] of this.outbox) this.send({ type: "message", client_id: clientId, text });
    }

    // Send nothing for a while, then the whole outbox in the order it was typed, same client ids.
    holdOutbox(seconds) {
      if (this.held) return;
      this.held = setTimeout(() => { this.held = null; this.resendOutbox(); }, seconds * 1000);
    }

    // Refused for good: out of the outbox, kept on screen as not sent, with a button to send it again.
    notSent(clientId, reason) {
      const text = this.outbox.get(clientId);
      this.outbox.delete(clientId);
      this.save();
      const node = this.view.log.querySelector(`li[data-client-id="${CSS.escape(clientId)}"]`);
      if (!node) return;
      node.classList.add("failed");
      node.querySelector(".state").replaceWith(h("span", { class: "state", role: "alert" }, t("not-sent", { reason }),
        h("button", { class: "retry", type: "button", onclick: () => this.retry(clientId, text) }, t("retry"))));
    }

    retry(clientId, text) {
      this.outbox.set(clientId, text);
      this.save();
      const node = this.view.log.querySelector(`li[data-client-id="${CSS.escape(clientId)}"]`);
      node.classList.remove("failed");
      node.querySelector(".state").replaceWith(h("span", { class: "state" }, t("sending")));
      this.view.input.focus();
      if (!this.held) this.send({ type: "message", client_id: clientId, text });
    }

    // ---- transcript -------------------------------------------------------

    bubble(author, text, clientId, state) {
      const own = author.role === "visitor";
      return h("li", { class: `msg ${own ? "visitor" : "agent"}`, "data-client-id": clientId },
        own ? null : h("span", { class: "who" }, named(author.name || t("support"))),
        linked(text, { class: "text" }),
        h("span", { class: "state" }, state));
    }

    system(...parts) { this.view.log.append(h("li", { class: "system" }, ...parts)); }

    receipt(acceptance) {
      const d = acceptance.data;
      const text = t("policy-receipt", { title: d.title, version: d.version, sha256: d.sha256, at: acceptance.at,
        conversation: acceptance.conversation_id }) + `\n\n${d.text}`;
      const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
      return h("a", { href: url, id: "receipt", download: `${d.policy_id}-v${d.version}-receipt.txt` },
        t("download-policy"));
    }

    // The server's notice (from the policy's reviewed template), with the clause it quotes set
    // off as a blockquote instead of repeated; text nodes only.
    // The server's notice is in the language of the policy the visitor accepted; it says so in lang and dir.
    noticeText(d, id, quoteId) {
      const text = d.notice || t("notice-fallback", { id: d.clause.id, title: d.clause.title, version: d.version })
        + `\n\n${d.clause.text}`;
      const at = text.indexOf(d.clause.text);
      const accepted = d.language || this.acceptedLanguage || "en";
      const quote = h("blockquote", { id: quoteId, lang: accepted, dir: direction(accepted) }, said(d.clause.text));
      const tag = d.notice ? accepted : language;
      const node = h("div", { class: "notice-text", id, lang: tag, dir: direction(tag) }, at < 0 ? [said(text), quote]
        : [said(text.slice(0, at).trimEnd()), quote, said(text.slice(at + d.clause.text.length).trimStart())]);
      return d.note ? [node, h("p", {}, tParts("note", { note: said(d.note) }))] : [node];
    }

    showEnded(event) {
      const v = this.view;
      const d = event.data;
      v.notice.replaceChildren();
      if (event.type === "closed") {
        v.notice.append(h("h3", {}, t("ended-title")), ...this.noticeText(d, "notice-text", "notice-clause"));
      } else if (event.type === "abandoned") {
        v.notice.append(h("h3", {}, t("ended-title")), h("p", {}, t("abandoned-text")));
      } else {
        v.notice.append(h("h3", {}, t("resolved-title")), h("p", {}, t("resolved-text")));
      }
      if (event.type === "closed") v.notice.append(this.receiptSlot(event));
      const draft = this.draftBox();
      if (draft) v.notice.append(draft);
      if (!this.barred) v.notice.append(h("button", { class: "primary", id: "new-conversation", type: "button",
        onclick: () => this.policy && this.showGate(this.policy) }, t("new-conversation")));
      v.notice.hidden = false;
      this.setChatEnabled(false);
      this.showTeam();
    }

    // Instead of the gate: why this visitor cannot start a conversation, and until when.
    // The sentence is the widget's, in its language, the time in the visitor's zone; the frame's
    // English message is for other clients.
    showBarred(f) {
      const v = this.view;
      const c = f.clause || {};
      const facts = { id: c.id, title: said(c.title), reference: h("bdi", {}, f.reference) };
      const sentence = f.until ? tParts("barred-until", { ...facts, date: localDate(f.until) })
        : tParts("barred-permanently", facts);
      this.barred = f;
      v.barred.replaceChildren(h("h3", {}, t("barred-title")),
        h("p", { class: "notice-text", id: "barred-text" }, sentence),
        h("blockquote", { id: "barred-clause" }, h("b", {}, t("rule", { id: c.id, title: c.title })), said(c.text)),
        h("p", { id: "barred-until" }, f.until
          ? tParts("applies-until", { date: h("time", { datetime: f.until }, localDate(f.until)) })
          : t("applies-permanently")));
      v.gate.hidden = true;
      v.barred.hidden = v.form.hidden = false;
      this.setChatEnabled(false);
      if (this.ended) this.showEnded(this.ended); // without "Start a new conversation"
      v.body.scrollTop = v.barred.offsetTop - v.body.offsetTop - 12; // its heading in view
    }

    bump() { // count unread news while the panel is closed
      if (!this.view.panel.hidden) return;
      this.view.badge.textContent = String(++this.unread);
      this.view.badge.hidden = false;
    }

    onEvent(event) {
      if (!this.conversation || event.conversation_id !== this.conversation.id || event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
      const d = event.data;
      if (event.type === "acceptance") {
        this.acceptedLanguage = d.language || "en";
        this.system(t("accepted", { title: d.title, version: d.version, time: time(event.at) }), this.receipt(event),
          this.receiptSlot(event));
      } else if (event.type === "message") {
        const pending = event.client_id && this.view.log.querySelector(`li[data-client-id="${CSS.escape(event.client_id)}"]`);
        // A text erased since it was sent (its commitment stays in the record) shows as erased.
        const text = event.erased?.text ? t("erased") : d.text;
        const node = this.bubble(event.author, text, event.client_id, time(event.at));
        node.dataset.seq = event.seq;
        if (pending && event.author.role === "visitor") pending.replaceWith(node);
        else this.view.log.append(node);
        if (event.author.role === "visitor") { this.outbox.delete(event.client_id); this.save(); }
        if (event.author.role === "agent") { this.bump(); this.showTyping(null); }
        this.showSeen();
      } else if (event.type === "warning") {
        this.view.log.append(h("li", { class: "warning", "data-seq": event.seq },
          h("h3", {}, t("warning-title")), ...this.noticeText(d, null, null), this.receiptSlot(event)));
        this.bump();
      } else if (event.type === "agent_joined") {
        this.system(...tParts("joined", { name: named(event.author.name || t("an-agent")) }));
        this.agentJoined = true;
        this.showTeam();
      } else if (event.type === "contact_left") {
        this.system(...tParts("contact-left", { email: said(d.email) }));
        if (event.client_id === this.contactId) this.contactId = null;
        this.view.awayDone.textContent = t("away-thanks", { email: d.email });
        this.view.awayEmail.value = "";
      } else if (event.type === "closed" || event.type === "resolved" || event.type === "abandoned") {
        this.ended = event;
        this.keepDraft();
        this.showEnded(event);
        this.showTyping(null);
        // Events come in order: a message still unacknowledged now was not stored and never
        // will be here; held for a retry, it must not go out later into the next conversation.
        for (const clientId of [...this.outbox.keys()]) this.notSent(clientId, t("ended-reason"));
      }
      this.scrollDown();
      if (event.type === "closed" || event.type === "resolved") this.focusNotice();
      if (event.author.role === "agent") this.markRead();
    }

    // ---- receipts (docs/protocol.md §3.5) ------------------------------------

    // Keep a signed receipt (the first one of each event: later copies only say the same again),
    // and offer it wherever its event is shown.
    keepReceipt(signed) {
      const r = signed && signed.receipt;
      if (!r) return;
      const kept = (this.receipts[r.conversation_id] = this.receipts[r.conversation_id] || {});
      if (!kept[r.event_seq]) {
        kept[r.event_seq] = signed;
        try { localStorage.setItem(receiptsKey, JSON.stringify(this.receipts)); } catch { /* storage refused: this page keeps it */ }
      }
      for (const slot of this.root.querySelectorAll(`.receipt-links[data-receipt-seq="${r.event_seq}"]`)) this.fillSlot(slot);
    }

    // Where the download links of ``event``'s receipt go: filled now if it is kept, else when it comes.
    receiptSlot(event) {
      this.receiptEvents.set(event.seq, event);
      const slot = h("span", { class: "receipt-links", "data-receipt-seq": event.seq });
      this.fillSlot(slot);
      return slot;
    }

    fillSlot(slot) {
      const seq = Number(slot.dataset.receiptSeq);
      const signed = this.conversation && (this.receipts[this.conversation.id] || {})[seq];
      if (!signed || slot.firstChild) return;
      const name = `receipt-${signed.receipt.conversation_id}-${seq}`;
      const blob = (text, type) => URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
      const page = receiptPage(signed, this.receiptEvents.get(seq), this.receiptEvents.get(1));
      slot.append(
        h("a", { class: "receipt-json", href: blob(JSON.stringify(signed, null, 2) + "\n", "application/json"),
          download: `${name}.json` }, t("receipt-json")),
        h("a", { class: "receipt-page", href: blob(page, "text/html"), download: `${name}.html` },
          t("receipt-page")));
    }

    // After a replay: any receipt the widget has not kept (say the acceptance's, if it missed
    // the accepted frame), asked for again.
    askMissingReceipts() {
      if (!this.conversation) return;
      const kept = this.receipts[this.conversation.id] || {};
      if ([...this.receiptEvents.keys()].some((seq) => !kept[seq])) {
        this.send({ type: "receipts", conversation_id: this.conversation.id });
      }
    }

    // ---- typing and read state (ephemeral: docs/protocol.md §6.9) ----------

    canSignal() {
      return this.conversation && this.conversation.state === "open" && !this.ended;
    }

    // Say "typing" at once, again every TYPING_REFRESH_MS while typing, "stopped" when idle or empty.
    onTyping() {
      if (!this.canSignal()) return;
      clearTimeout(this.typingIdle);
      if (!this.view.input.value.trim()) { this.stopTyping(); return; }
      const now = Date.now();
      if (now - (this.typingSentAt || 0) >= TYPING_REFRESH_MS) {
        this.typingSentAt = now;
        this.send({ type: "typing", state: true });
      }
      this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    }

    stopTyping() {
      clearTimeout(this.typingIdle);
      if (!this.typingSentAt) return;
      this.typingSentAt = 0;
      if (this.canSignal()) this.send({ type: "typing", state: false });
    }

    // The agent's typing indicator: on until "stopped", their message, or expires_in seconds of quiet.
    showTyping(frame) {
      clearTimeout(this.typingShown);
      const on = !!(frame && frame.state);
      const text = on ? t("typing", { name: frame.name || t("support") }) : "";
      if (this.view.typing.textContent !== text) this.view.typing.textContent = text;
      if (on) this.typingShown = setTimeout(() => this.showTyping(null), (frame.expires_in || 6) * 1000);
    }

    // Tell the agent what the visitor has seen: the last event, while the panel is open and visible.
    markRead() {
      if (!this.conversation || !this.lastSeq || this.view.panel.hidden || document.hidden) return;
      if (this.readSent === this.lastSeq) return;
      this.readSent = this.lastSeq;
      this.send({ type: "read", conversation_id: this.conversation.id, seq: this.lastSeq });
    }

    // "Seen" under the visitor's last message the agent has read.
    showSeen() {
      const seen = this.seenSeq || 0;
      const mine = [...this.view.log.querySelectorAll("li.msg.visitor[data-seq]")]
        .filter((node) => Number(node.dataset.seq) <= seen);
      const last = mine[mine.length - 1];
      if (last && last.querySelector(".seen")) return;
      for (const old of this.view.log.querySelectorAll(".seen")) old.remove();
      if (last) last.append(h("span", { class: "seen", id: "seen" }, t("seen")));
    }

    // What the visitor was typing when the conversation ended: out of the box that is about to be
    // disabled, into the notice, where it can still be selected and copied.
    keepDraft() {
      const draft = this.view.input.value;
      this.view.input.value = "";
      this.draft = draft.trim() ? draft : null;
    }

    draftBox() {
      if (!this.draft) return null;
      return h("div", { class: "draft", id: "draft" }, h("h4", { id: "draft-title" }, t("draft-title")),
        h("p", {}, t("draft-text")),
        h("textarea", { id: "draft-text", readonly: true, rows: 3, "aria-labelledby": "draft-title" }, this.draft));
    }

    // The panel open: focus moves to the notice and its heading is scrolled into view. Focus was in
    // the widget, or dropped to the page's body when the input was disabled; elsewhere, it stays.
    focusNotice() {
      const v = this.view;
      const active = document.activeElement;
      if (v.panel.hidden || v.notice.hidden || (!this.root.activeElement && active && active !== document.body)) return;
      v.notice.focus({ preventScroll: true });
      v.notice.querySelector("h3").scrollIntoView({ block: "start" });
    }
  }

  Widget.prototype.handlers = {
    team(f) { this.team = f.state; this.showTeam(); },
    pong() { this.awaitingPong = false; this.showOffline(false); },
    welcome(f) {
      if (f.token) { this.token = f.token; this.save(); }
      const conversation = f.conversation;
      if (!conversation || !this.conversation || conversation.id !== this.conversation.id) {
        this.view.log.replaceChildren();
        this.lastSeq = 0;
        this.ended = null;
        this.agentJoined = false;
        this.view.notice.hidden = true;
        this.seenSeq = 0;
        this.receiptEvents.clear();
      }
      this.readSent = 0; // a new connection is told again
      this.conversation = conversation;
      this.barred = null; // this connection will say again, with a barred frame or a policy offer
      if (conversation && conversation.state === "open") this.showChat();
      this.showOffline(false);
      this.showTeam();
    },
    barred(f) { this.showBarred(f); },
    policy(f) {
      this.policy = f;
      if (this.barred) return; // still barred: no gate, whatever version comes into force
      this.view.barred.hidden = true;
      // Offered in another language than the visitor picked (or, without a pick, than the site set
      // with data-lang) while that one exists: ask for it, once per connection. Otherwise the
      // server's choice stands: it went by the browser's languages.
      const wanted = lookup(chosenLanguage() || data.lang, f.languages || []);
      if (wanted && wanted !== f.language && wanted !== this.askedLanguage) {
        this.askedLanguage = wanted;
        this.send({ type: "language", language: wanted });
      }
      if (!this.view.gate.hidden) this.showGate(f); // the visitor is reading it: this text replaces it
      else if (!this.conversation || this.conversation.state !== "open" || this.ended) {
        if (this.ended) this.showEnded(this.ended);
        else this.showGate(f);
      }
    },
    accepted(f) {
      this.receiptEvents.clear();
      if (f.receipt) this.keepReceipt(f.receipt);
      this.conversation = f.conversation;
      this.lastSeq = 0;
      this.ended = null;
      this.draft = null;
      this.seenSeq = this.readSent = 0;
      this.view.log.replaceChildren();
      this.agentJoined = false;
      this.showChat();
      this.showTeam();
      if (!this.view.panel.hidden) this.view.input.focus();
    },
    event(f) { this.onEvent(f.event); },
    typing(f) {
      if (this.conversation && f.conversation_id === this.conversation.id && f.role === "agent") this.showTyping(f);
    },
    read(f) {
      if (!this.conversation || f.conversation_id !== this.conversation.id || f.role !== "agent") return;
      this.seenSeq = Math.max(this.seenSeq || 0, f.seq);
      this.showSeen();
    },
    caught_up() { this.resendOutbox(); this.askMissingReceipts(); },
    receipt(f) { this.keepReceipt(f.receipt); },
    receipts(f) { for (const r of f.receipts) this.keepReceipt(r); },
    ack(f) {
      this.storeRetries = 0;
      this.outbox.delete(f.client_id);
      this.save();
      const node = this.view.log.querySelector(`li[data-client-id="${CSS.escape(f.client_id)}"] .state`);
      if (node && node.textContent === t("sending")) node.textContent = time(f.at);
    },
    error(f) {
      if (f.client_id && f.client_id === this.contactId) { // the away-mode e-mail was refused
        this.contactId = null;
        this.view.awayError.textContent = refusal(f);
        this.view.awayEmail.focus();
      } else if (f.code === "invalid_token") {
        this.token = null;
        this.save();
        this.send({ type: "hello", client: clientFacts() });
      } else if (f.code === "barred") {
        this.showBarred(f); // barred meanwhile, e.g. by address
      } else if (f.code === "policy_mismatch") {
        this.view.gateError.textContent = t("policy-changed");
      } else if (f.code === "unknown_language") {
        this.view.gateError.textContent = t("language-unavailable");
        if (this.policy) this.view.languages.value = this.policy.language;
      } else if (f.client_id && this.outbox.has(f.client_id)) {
        // Retryable (docs/protocol.md §8): nothing was stored, so the same client_id goes again.
        if (f.code === "rate_limited") this.holdOutbox(f.retry_after);
        else if (f.code === "unavailable") this.holdOutbox(Math.min(10, 0.5 * 2 ** this.storeRetries++));
        else this.notSent(f.client_id, refusal(f));
      } else if (f.request === "accept" && !this.view.gate.hidden) {
        this.view.gateError.textContent = refusal(f); // e.g. too many new conversations
        this.updateStart();
      }
    },
  };

  function start() {
    window.parley = new Widget();
    document.addEventListener("visibilitychange", () => window.parley.markRead());
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
