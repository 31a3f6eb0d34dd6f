// Translations by locale, as `make pull_translations` writes them into an Open edX MFE
// (src/i18n/messages); English is the source, from the messages' defaults.
const messages: Record<string, Record<string, string>> = {};
export default messages;
