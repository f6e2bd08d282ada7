/** Placeholder: operator-facing texts (Spanish default, English on request). Filled by the config/i18n work. */
export {};
