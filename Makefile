# Targets Tutor's MFE plugin calls when it builds the User Groups page from this repository
# (deploy/tutor): its translations, which an Open edX MFE pulls from openedx-translations.
.PHONY: pull_translations
pull_translations:
	@echo "the User Groups page ships English only: no translations to pull yet"
